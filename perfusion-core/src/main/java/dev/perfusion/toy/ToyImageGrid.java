package dev.perfusion.toy;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Image grids for the evaluation and the demo: cells upscaled by an integer factor with nearest-neighbour sampling
 * (so 32 × 32 toy images stay crisp and visible), row labels in a left margin, column labels in a top margin.
 */
public final class ToyImageGrid {
    private static final int PAD = 2;
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);

    private ToyImageGrid() {
    }

    /**
     * Draws {@code rows} (each a list of images of one size; rows may be shorter than the longest, leaving blanks).
     *
     * @param rowLabels one per row, or null for no left margin
     * @param colLabels one per column, or null for no top margin
     * @param scale     integer upscaling factor ≥ 1 (nearest neighbour)
     */
    public static BufferedImage draw(List<List<BufferedImage>> rows, List<String> rowLabels, List<String> colLabels,
                                     int scale) {
        if (rows.isEmpty() || rows.stream().allMatch(List::isEmpty)) {
            throw new IllegalArgumentException("an image grid needs at least one image");
        }
        if (scale < 1) {
            throw new IllegalArgumentException("grid scale must be >= 1, got " + scale);
        }
        if (rowLabels != null && rowLabels.size() != rows.size()) {
            throw new IllegalArgumentException(rowLabels.size() + " row labels for " + rows.size() + " rows");
        }
        BufferedImage first = rows.stream().filter(r -> !r.isEmpty()).findFirst().orElseThrow().get(0);
        int cw = first.getWidth() * scale;
        int ch = first.getHeight() * scale;
        int cols = rows.stream().mapToInt(List::size).max().orElse(0);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics fm = pg.getFontMetrics(FONT);
        int left = 0;
        if (rowLabels != null) {
            for (String l : rowLabels) {
                left = Math.max(left, fm.stringWidth(l) + 12);
            }
        }
        int top = colLabels == null ? 0 : fm.getHeight() + 6;
        pg.dispose();
        int w = left + cols * (cw + PAD) + PAD;
        int h = top + rows.size() * (ch + PAD) + PAD;
        BufferedImage grid = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        try {
            g.setColor(new Color(128, 128, 128));
            g.fillRect(0, 0, w, h);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, left, h);
            g.fillRect(0, 0, w, top);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(FONT);
            for (int r = 0; r < rows.size(); r++) {
                int y = top + PAD + r * (ch + PAD);
                List<BufferedImage> row = rows.get(r);
                for (int c = 0; c < row.size(); c++) {
                    g.drawImage(upscale(row.get(c), scale), left + PAD + c * (cw + PAD), y, null);
                }
                if (rowLabels != null) {
                    g.setColor(Color.BLACK);
                    g.drawString(rowLabels.get(r), 6, y + ch / 2 + fm.getAscent() / 2 - 2);
                }
            }
            if (colLabels != null) {
                g.setColor(Color.BLACK);
                for (int c = 0; c < Math.min(cols, colLabels.size()); c++) {
                    g.drawString(colLabels.get(c), left + PAD + c * (cw + PAD) + 2, top - 6);
                }
            }
        } finally {
            g.dispose();
        }
        return grid;
    }

    /** {@code img} with every pixel repeated {@code scale} × {@code scale} times (nearest neighbour, exact). */
    static BufferedImage upscale(BufferedImage img, int scale) {
        int w = img.getWidth();
        int h = img.getHeight();
        BufferedImage out = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * scale; y++) {
            for (int x = 0; x < w * scale; x++) {
                out.setRGB(x, y, img.getRGB(x / scale, y / scale));
            }
        }
        return out;
    }
}
