package dev.perfusion.toy;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The β-sweep plot of the evaluation, drawn with Java2D: one polyline per curve (e.g. per training mode) through
 * its points in the given order, each point marked and labelled (e.g. with its β), axes with ticks and labels,
 * and a legend. Axis ranges cover the data with a margin (at least 0.1 wide), clipped to [0, 1] when the data is.
 */
public final class ToySweepPlot {
    /** Plot width in pixels. */
    public static final int WIDTH = 760;
    /** Plot height in pixels. */
    public static final int HEIGHT = 560;

    private static final Color[] PALETTE = {
        new Color(200, 30, 30), new Color(30, 90, 200), new Color(30, 150, 60), new Color(150, 60, 170),
        new Color(220, 130, 0), new Color(0, 140, 150)};

    private ToySweepPlot() {
    }

    /**
     * One point of a curve.
     *
     * @param x     horizontal value
     * @param y     vertical value
     * @param label text drawn beside the point (may be empty)
     */
    public record Point(double x, double y, String label) {
    }

    /**
     * Draws the curves (legend in map order). Points with a non-finite coordinate are skipped.
     *
     * @throws IllegalArgumentException when there is no finite point at all
     */
    public static BufferedImage draw(Map<String, List<Point>> curves, String title, String xLabel, String yLabel) {
        double minX = Double.POSITIVE_INFINITY;
        double maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY;
        double maxY = Double.NEGATIVE_INFINITY;
        for (List<Point> c : curves.values()) {
            for (Point p : c) {
                if (finite(p)) {
                    minX = Math.min(minX, p.x());
                    maxX = Math.max(maxX, p.x());
                    minY = Math.min(minY, p.y());
                    maxY = Math.max(maxY, p.y());
                }
            }
        }
        if (!(minX <= maxX)) {
            throw new IllegalArgumentException("nothing to plot: no point with finite coordinates");
        }
        double[] xr = range(minX, maxX);
        double[] yr = range(minY, maxY);
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            int left = 80;
            int right = WIDTH - 200;
            int top = 50;
            int bottom = HEIGHT - 70;
            Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.setColor(Color.BLACK);
            FontMetrics tf = g.getFontMetrics();
            g.drawString(title, (left + right - tf.stringWidth(title)) / 2, 28);
            g.setFont(font);
            FontMetrics fm = g.getFontMetrics();
            // grid and ticks
            for (int i = 0; i <= 5; i++) {
                double vx = xr[0] + (xr[1] - xr[0]) * i / 5;
                int px = sx(vx, xr, left, right);
                double vy = yr[0] + (yr[1] - yr[0]) * i / 5;
                int py = sy(vy, yr, top, bottom);
                g.setColor(new Color(230, 230, 230));
                g.drawLine(px, top, px, bottom);
                g.drawLine(left, py, right, py);
                g.setColor(Color.BLACK);
                String lx = String.format(Locale.ROOT, "%.3f", vx);
                String ly = String.format(Locale.ROOT, "%.3f", vy);
                g.drawLine(px, bottom, px, bottom + 5);
                g.drawString(lx, px - fm.stringWidth(lx) / 2, bottom + 20);
                g.drawLine(left - 5, py, left, py);
                g.drawString(ly, left - 8 - fm.stringWidth(ly), py + fm.getAscent() / 2 - 1);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, right - left, bottom - top);
            g.drawString(xLabel, (left + right - fm.stringWidth(xLabel)) / 2, bottom + 45);
            AffineTransform at = g.getTransform();
            g.rotate(-Math.PI / 2);
            g.drawString(yLabel, -(top + bottom + fm.stringWidth(yLabel)) / 2, 22);
            g.setTransform(at);
            // curves
            int k = 0;
            for (Map.Entry<String, List<Point>> e : curves.entrySet()) {
                Color col = PALETTE[k % PALETTE.length];
                g.setColor(col);
                g.setStroke(new BasicStroke(2f));
                int[] prev = null;
                for (Point p : e.getValue()) {
                    if (!finite(p)) {
                        continue;
                    }
                    int px = sx(p.x(), xr, left, right);
                    int py = sy(p.y(), yr, top, bottom);
                    if (prev != null) {
                        g.drawLine(prev[0], prev[1], px, py);
                    }
                    prev = new int[] {px, py};
                }
                for (Point p : e.getValue()) {
                    if (!finite(p)) {
                        continue;
                    }
                    int px = sx(p.x(), xr, left, right);
                    int py = sy(p.y(), yr, top, bottom);
                    g.fillOval(px - 4, py - 4, 9, 9);
                    if (!p.label().isEmpty()) {
                        g.drawString(p.label(), px + 6, py - 6);
                    }
                }
                int ly = top + 10 + k * 22;
                g.fillRect(right + 20, ly, 18, 4);
                g.fillOval(right + 25, ly - 2, 8, 8);
                g.setColor(Color.BLACK);
                g.drawString(e.getKey(), right + 44, ly + 7);
                k++;
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    private static boolean finite(Point p) {
        return Double.isFinite(p.x()) && Double.isFinite(p.y());
    }

    /** [lo, hi] around the data with 10 % margins, at least 0.1 wide, inside [0, 1] when the data is. */
    private static double[] range(double min, double max) {
        double span = Math.max(max - min, 0.1);
        double mid = (min + max) / 2;
        double lo = mid - span * 0.6;
        double hi = mid + span * 0.6;
        if (min >= 0 && max <= 1) {
            if (lo < 0) {
                hi = Math.min(1, hi - lo);
                lo = 0;
            }
            if (hi > 1) {
                lo = Math.max(0, lo - (hi - 1));
                hi = 1;
            }
        }
        return new double[] {lo, hi};
    }

    private static int sx(double v, double[] r, int left, int right) {
        return (int) Math.round(left + (v - r[0]) / (r[1] - r[0]) * (right - left));
    }

    private static int sy(double v, double[] r, int top, int bottom) {
        return (int) Math.round(bottom - (v - r[0]) / (r[1] - r[0]) * (bottom - top));
    }
}
