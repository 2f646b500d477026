package dev.perfusion.toy;

import java.awt.image.BufferedImage;

/**
 * Draws toy scenes: 32 × 32 RGB, anti-aliased by 4 × 4 supersampling (an edge pixel is the mean of its 16 sub-samples,
 * so it blends object and background colours). A pure function of the {@link Scene}.
 */
public final class ToyRenderer {
    /** Sub-samples per pixel side. */
    public static final int SUPERSAMPLE = 4;

    private ToyRenderer() {
    }

    /** The scene as 32 × 32 pixels, row-major, each 0xRRGGBB. */
    public static int[] render(Scene scene) {
        int n = ToyWorld.SIZE;
        int bg = scene.background().rgb();
        int[] out = new int[n * n];
        int ss = SUPERSAMPLE;
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                int r = 0;
                int g = 0;
                int b = 0;
                for (int sy = 0; sy < ss; sy++) {
                    for (int sx = 0; sx < ss; sx++) {
                        double px = x + (sx + 0.5) / ss;
                        double py = y + (sy + 0.5) / ss;
                        int c = colorAt(scene, px, py, bg);
                        r += (c >> 16) & 0xFF;
                        g += (c >> 8) & 0xFF;
                        b += c & 0xFF;
                    }
                }
                int k = ss * ss;
                out[y * n + x] = ((r + k / 2) / k) << 16 | ((g + k / 2) / k) << 8 | ((b + k / 2) / k);
            }
        }
        return out;
    }

    /** The colour at a sub-pixel point: the last object (caption order) covering it, else the background. */
    private static int colorAt(Scene scene, double px, double py, int bg) {
        int c = bg;
        for (SceneObject o : scene.objects()) {
            double r = o.size().radius();
            double u = px - o.centerX();
            double v = py - o.centerY();
            if (o.outline().contains(u, v, r)) {
                c = objectColor(o, u, v, r);
            }
        }
        return c;
    }

    private static int objectColor(SceneObject o, double u, double v, double r) {
        return switch (o.kind()) {
            case NAMED -> o.color().rgb();
            case THING -> o.thing().pattern().isColorA(u, v, r) ? o.thing().rgbA() : o.thing().rgbB();
            case CONCEPT -> o.concept().pattern().isColorA(u, v, r) ? o.concept().rgbA() : o.concept().rgbB();
        };
    }

    /** Pixels (0xRRGGBB, row-major, side {@code ToyWorld.SIZE}) as a 3-channel [−1, 1] array, CHW order. */
    public static float[] toCHW(int[] rgb) {
        int hw = rgb.length;
        float[] out = new float[3 * hw];
        for (int i = 0; i < hw; i++) {
            int c = rgb[i];
            out[i] = ((c >> 16) & 0xFF) / 127.5f - 1f;
            out[hw + i] = ((c >> 8) & 0xFF) / 127.5f - 1f;
            out[2 * hw + i] = (c & 0xFF) / 127.5f - 1f;
        }
        return out;
    }

    /** The inverse of {@link #toCHW} for one image of {@code hw} pixels starting at {@code offset}, clamped. */
    public static int[] fromCHW(float[] chw, int offset, int hw) {
        int[] out = new int[hw];
        for (int i = 0; i < hw; i++) {
            int r = to8(chw[offset + i]);
            int g = to8(chw[offset + hw + i]);
            int b = to8(chw[offset + 2 * hw + i]);
            out[i] = r << 16 | g << 8 | b;
        }
        return out;
    }

    private static int to8(float v) {
        return (int) Math.max(0, Math.min(255, Math.round((v + 1f) * 127.5f)));
    }

    /** Pixels as an RGB image of side {@code √rgb.length}. */
    public static BufferedImage toImage(int[] rgb) {
        int n = (int) Math.round(Math.sqrt(rgb.length));
        BufferedImage img = new BufferedImage(n, n, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, n, n, rgb, 0, n);
        return img;
    }

    /** Pixels of an image (any type), row-major 0xRRGGBB. */
    public static int[] pixels(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] out = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < out.length; i++) {
            out[i] &= 0xFFFFFF;
        }
        return out;
    }
}
