package dev.perfusion.pipeline;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/** Conversions between image tensors and {@link BufferedImage}s, and PNG files with text chunks. */
public final class Images {
    private Images() {
    }

    /**
     * RGB images from a decoded tensor [B, 3, H, W] with values in [-1, 1] (the VAE's range), mapped as
     * clamp(x/2 + 0.5, 0, 1) and rounded to 8 bits, as diffusers' image post-processing does.
     */
    public static List<BufferedImage> toImages(Tensor decoded) {
        if (decoded.rank() != 4 || decoded.dim(1) != 3) {
            throw new IllegalArgumentException("images need a [B, 3, H, W] tensor, got " + decoded.shape());
        }
        int b = decoded.dim(0);
        int h = decoded.dim(2);
        int w = decoded.dim(3);
        float[] v = decoded.toFloatArray();
        List<BufferedImage> out = new ArrayList<>(b);
        int plane = h * w;
        for (int n = 0; n < b; n++) {
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            int base = n * 3 * plane;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int i = y * w + x;
                    int r = to8Bit(v[base + i]);
                    int g = to8Bit(v[base + plane + i]);
                    int bl = to8Bit(v[base + 2 * plane + i]);
                    img.setRGB(x, y, (r << 16) | (g << 8) | bl);
                }
            }
            out.add(img);
        }
        return out;
    }

    private static int to8Bit(float x) {
        double v = Math.min(1, Math.max(0, x / 2 + 0.5));
        return (int) Math.round(v * 255);
    }

    /** An image as a [1, 3, H, W] tensor in [-1, 1] (the VAE encoder's input range). */
    public static Tensor fromImage(BufferedImage img, Backend backend) {
        int h = img.getHeight();
        int w = img.getWidth();
        float[] v = new float[3 * h * w];
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                int i = y * w + x;
                v[i] = ((rgb >> 16) & 0xff) / 127.5f - 1f;
                v[plane + i] = ((rgb >> 8) & 0xff) / 127.5f - 1f;
                v[2 * plane + i] = (rgb & 0xff) / 127.5f - 1f;
            }
        }
        return backend.fromArray(v, Shape.of(1, 3, h, w)); // [1, 3, H, W]
    }

    /**
     * Writes a PNG with {@code text} as tEXt chunks (keyword → value, e.g. {@code parameters} with the generation
     * settings), atomically: a temporary file in the same folder, then a rename.
     */
    public static void writePng(BufferedImage img, Map<String, String> text, Path file) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) {
            throw new IOException("no PNG writer in this Java runtime (module java.desktop missing?)");
        }
        ImageWriter writer = writers.next();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), null);
            addText(meta, text);
            try (OutputStream os = Files.newOutputStream(tmp); ImageOutputStream ios = ImageIO.createImageOutputStream(os)) {
                writer.setOutput(ios);
                writer.write(null, new IIOImage(img, null, meta), null);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            writer.dispose();
            Files.deleteIfExists(tmp);
        }
    }

    private static void addText(IIOMetadata meta, Map<String, String> text) throws IIOInvalidTreeException {
        String format = "javax_imageio_png_1.0";
        IIOMetadataNode root = new IIOMetadataNode(format);
        IIOMetadataNode chunk = new IIOMetadataNode("tEXt");
        for (Map.Entry<String, String> e : text.entrySet()) {
            IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
            entry.setAttribute("keyword", e.getKey());
            entry.setAttribute("value", e.getValue());
            chunk.appendChild(entry);
        }
        root.appendChild(chunk);
        meta.mergeTree(format, root);
    }

    /** The tEXt chunks of a PNG file (keyword → value). */
    public static Map<String, String> readPngText(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IOException(file + " is not an image ImageIO can read");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                IIOMetadata meta = reader.getImageMetadata(0);
                Node root = meta.getAsTree("javax_imageio_png_1.0");
                for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                    if ("tEXt".equals(n.getNodeName())) {
                        for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                            NamedNodeMap a = e.getAttributes();
                            out.put(a.getNamedItem("keyword").getNodeValue(), a.getNamedItem("value").getNodeValue());
                        }
                    }
                }
            } finally {
                reader.dispose();
            }
        }
        return out;
    }
}
