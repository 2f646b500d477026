package dev.perfusion.toy;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The toy world's analytic "CLIP score" (issue 7): reads a 32 × 32 image back into objects and compares them with
 * the scene it should show. Exact on clean renders of {@link ToyRenderer}, cheap (about 0.2 ms an image on one
 * core), and robust to pixel noise (Gaussian σ = 10 per channel: 3,000 of 3,000 scenes still right; σ = 20: 98.6 %).
 *
 * <h2>What it measures</h2>
 * <ol>
 *   <li><b>Background.</b> The per-channel median of the 124 border pixels (objects touch the border over at most a
 *       few dozen of them) is the background colour {@code bg}; it is WHITE when its luminance
 *       {@code 0.299 R + 0.587 G + 0.114 B} exceeds 127.5, else BLACK.</li>
 *   <li><b>Pixel classes.</b> Anti-aliased edge pixels are blends of an object colour and the background, so each
 *       pixel {@code p} is explained, for every colour class, as {@code p ≈ bg + Σ αᵢ (cᵢ − bg)} with
 *       {@code αᵢ ≥ 0}, {@code Σ αᵢ ≤ 1} (least squares in RGB over that simplex); {@code Σ αᵢ} is the class's
 *       <i>coverage</i> of the pixel. The classes are the four grammar colours (one {@code cᵢ} each) and each
 *       {@link NovelConcept} (its two colours together, so that the blends where its halves meet are one class;
 *       {@link #check} uses only the concepts its scene names, see {@link #read(int[], Set)}).
 *       The pixel takes the class of least squared residual (a two-colour class is charged
 *       {@value #TWO_COLOR_PENALTY} extra, as its second colour also fits noise), and is an object pixel when that
 *       coverage is at least {@value #COVERAGE_THRESHOLD}; otherwise background. Backgrounds are achromatic and
 *       every class colour saturated, so pixels near the background have coverage near 0 whatever their hue.</li>
 *   <li><b>Concepts.</b> A concept is drawn in two grammar colours, so its halves first read as those colours; a
 *       group of pixels of its two colours and their blends (gaps up to {@value ConceptLayout#GAP} px bridged) that
 *       lie where the concept's pattern puts each colour is relabelled as the concept, one object
 *       ({@link ConceptLayout}).</li>
 *   <li><b>Objects.</b> 4-connected regions of one class; regions under {@value #MIN_AREA} pixels are specks and
 *       dropped. A region at least {@value #SPLIT_WIDTH} pixels wide is wider than any grammar object (at most 14)
 *       and so two touching objects of one colour (two large circles or triangles whose jitter brings them together
 *       at x = 16): it is split in x by 2-means on the pixels' x (iterated to a fixed point; each part again if
 *       still that wide).</li>
 *   <li><b>Measures</b> ({@link Detection}) are <i>soft</i>: over the region plus every pixel next to it (8-neighbours)
 *       that no other object owns (its anti-aliased rim, holes, noise specks), each pixel weighted by its coverage
 *       for the region's class. Hard-thresholded masks are not used for measures because many edge pixels sit
 *       exactly at the threshold (a small square's sides are 8/16 covered) and noise flips them; the soft moments
 *       move by a few percent at σ = 10. With weights w and centroid (x̄, ȳ), central moments
 *       {@code μpq = Σ w (x − x̄)^p (y − ȳ)^q}:
 *     <ul>
 *       <li>area {@code Σ w} (≈ the outline's exact area: circle πr², square (1.8r)², triangle 2r²);</li>
 *       <li>size: LARGE when the area is at least {@link #LARGE_AREA} ≈ 71.3 px: the geometric mean of the largest
 *           small area (a small square, 51.8) and the smallest large one (a large triangle, 98); measured on clean
 *           renders: small 32–51, large 98–157;</li>
 *       <li>position: by thirds of x̄: LEFT below 32/3, RIGHT at or above 64/3, else CENTER (centres are
 *           8, 16, 24 ± 1);</li>
 *       <li>shape: TRIANGLE when the skewness of y, {@code μ03 / μ02^1.5}, is below {@value #TRIANGLE_SKEW} (an
 *           apex-up triangle's mass is at the bottom: −2√2/5 ≈ −0.57 in theory, −0.58 to −0.61 measured; circles and
 *           squares 0); otherwise SQUARE when {@code (μ40 + μ04) / 2μ22} is below {@value #SQUARE_KURTOSIS} (a
 *           fourth-moment measure of corners: 9/5 for a square, 3 for a disc; measured 1.82–1.89 and 2.87–3.04),
 *           else CIRCLE. The fill ratio (hard area / bounding box: square 0.94–1, circle 0.80, triangle 0.55) is
 *           reported too but not used: one noisy pixel that widens the box moves it by 10 %.</li>
 *     </ul></li>
 * </ol>
 *
 * <p>{@link #check} matches each expected object to the largest detection at its position (else to the nearest
 * remaining one, with its position wrong) and judges the attributes ({@link ObjectCheck}); detections left over are
 * extra objects. {@link #conceptShare} says how much of an object at a position was recognised as a concept.
 *
 * <p>The measures work on 32 × 32 images only; both the int[] (0xRRGGBB, row-major, as {@link ToyRenderer#render}
 * returns) and the {@link BufferedImage} forms are accepted. Stateless and thread-safe.
 */
public final class ToyChecker {
    /** Minimum coverage (fraction of the pixel the object covers, as fitted) of an object pixel. */
    public static final double COVERAGE_THRESHOLD = 0.5;
    /** Regions with fewer pixels are specks, not objects. */
    public static final int MIN_AREA = 6;
    /** Regions at least this wide (pixels) are two touching objects and split. */
    public static final int SPLIT_WIDTH = 18;
    /** Skewness of y ({@code μ03 / μ02^1.5}) below which an object is an (apex-up) triangle. */
    public static final double TRIANGLE_SKEW = -0.28;
    /** {@code (μ40 + μ04) / 2μ22} below which a non-triangle is a square (square 1.8, disc 3). */
    public static final double SQUARE_KURTOSIS = 2.4;
    /** Added to a two-colour class's squared residual (RGB units²) when choosing a pixel's class. */
    public static final double TWO_COLOR_PENALTY = 300;
    /** Area (pixels) at or above which an object is LARGE; see the class comment. */
    public static final double LARGE_AREA = largeAreaThreshold();

    private static final int N = ToyWorld.SIZE;
    private static final int NAMED = ToyWorld.Color.values().length;
    /** Colours of each class: the grammar colours, then each concept's two. */
    private static final int[][] CLASS_RGB = classColors();

    private ToyChecker() {
    }

    // ---- reading -----------------------------------------------------------------------------------------------

    /** Reads an image: background and objects (see the class comment), with every concept's class. */
    public static ImageReading read(int[] image) {
        return read(image, EnumSet.allOf(NovelConcept.class));
    }

    /**
     * Reads an image with the four grammar colours and only the given concepts as pixel classes and layouts.
     * {@link #check} uses the concepts its scene names: an unasked concept that does appear reads as its two grammar
     * colours and counts against the image.
     */
    public static ImageReading read(int[] image, Set<NovelConcept> concepts) {
        java.util.Objects.requireNonNull(concepts, "concepts");
        checkImage(image);
        int bg = borderMedian(image);
        double[][] vec = classVectors(bg, concepts);
        int[] labels = classify(image, bg, vec);
        // a recognised concept is one object even where its halves do not touch; other regions as found
        List<int[]> regions = ConceptLayout.relabel(labels, concepts, NAMED);
        boolean[] taken = new boolean[labels.length];
        for (int[] group : regions) {
            for (int p : group) {
                taken[p] = true;
            }
        }
        for (int[] region : regions(labels, false)) {
            if (!taken[region[0]]) {
                regions.add(region);
            }
        }
        int[] owner = new int[image.length]; // 1 + index of the region a pixel belongs to, 0 for none
        for (int i = 0; i < regions.size(); i++) {
            for (int p : regions.get(i)) {
                owner[p] = i + 1;
            }
        }
        List<Detection> out = new ArrayList<>();
        for (int i = 0; i < regions.size(); i++) {
            int[] region = regions.get(i);
            out.add(measure(region, labels[region[0]], owner, image, bg, vec));
        }
        out.sort(Comparator.comparingDouble(Detection::x));
        return new ImageReading(background(bg), bg, out);
    }

    /** {@link #read(int[])} of a 32 × 32 image of any type. */
    public static ImageReading read(BufferedImage image) {
        return read(pixels(image));
    }

    // ---- checking ----------------------------------------------------------------------------------------------

    /** Compares an image with the scene it should show (see {@link ObjectCheck} for what is judged per kind). */
    public static CheckResult check(Scene expected, int[] image) {
        Set<NovelConcept> asked = EnumSet.noneOf(NovelConcept.class);
        for (SceneObject o : expected.objects()) {
            if (o.concept() != null) {
                asked.add(o.concept());
            }
        }
        ImageReading reading = read(image, asked);
        List<Detection> left = new ArrayList<>(reading.detections());
        List<SceneObject> objects = expected.objects();
        Detection[] found = new Detection[objects.size()];
        // first every object at its own position, then the unmatched ones to the nearest detection left
        for (int i = 0; i < objects.size(); i++) {
            ToyWorld.Position p = objects.get(i).position();
            Detection best = null;
            for (Detection d : left) {
                if (d.position() == p && (best == null || d.area() > best.area())) {
                    best = d;
                }
            }
            found[i] = best;
            left.remove(best);
        }
        for (int i = 0; i < objects.size(); i++) {
            if (found[i] == null) {
                double cx = objects.get(i).position().centerX();
                Detection best = null;
                for (Detection d : left) {
                    if (best == null || Math.abs(d.x() - cx) < Math.abs(best.x() - cx)) {
                        best = d;
                    }
                }
                found[i] = best;
                left.remove(best);
            }
        }
        List<ObjectCheck> checks = new ArrayList<>(objects.size());
        for (int i = 0; i < objects.size(); i++) {
            checks.add(judge(objects.get(i), found[i]));
        }
        return new CheckResult(expected, reading, checks, left, reading.background() == expected.background());
    }

    /** {@link #check(Scene, int[])} of a 32 × 32 image of any type. */
    public static CheckResult check(Scene expected, BufferedImage image) {
        return check(expected, pixels(image));
    }

    /**
     * How much of the object at a position is the concept, read with the grammar colours and this concept only (as
     * {@link #check} reads a scene that names it): over the foreground regions (object pixels of any class,
     * 4-connected, specks dropped, wide regions split as for {@link #read}) whose centroid lies in the position's
     * third, the largest fraction of pixels of the concept's class once {@link ConceptLayout} has relabelled the
     * objects laid out as a concept; 0 when there is none.
     */
    public static double conceptShare(int[] image, NovelConcept concept, ToyWorld.Position position) {
        checkImage(image);
        int bg = borderMedian(image);
        Set<NovelConcept> only = EnumSet.of(concept);
        int[] labels = classify(image, bg, classVectors(bg, only));
        ConceptLayout.relabel(labels, only, NAMED);
        int k = NAMED + concept.ordinal();
        double best = 0;
        for (int[] region : regions(labels, true)) {
            if (positionOf(centroidX(region)) != position) {
                continue;
            }
            int hits = 0;
            for (int p : region) {
                if (labels[p] == k) {
                    hits++;
                }
            }
            best = Math.max(best, hits / (double) region.length);
        }
        return best;
    }

    /**
     * Whether the concept is present at the position by its layout alone: it makes up at least half an object there.
     * Looser than the evaluation's test ({@link ToyImageScore}: {@link #check}'s object at the position is the concept
     * at its prompted size), which also rejects the odd blob of the concept's colours in a failed image.
     */
    public static boolean conceptPresent(int[] image, NovelConcept concept, ToyWorld.Position position) {
        return conceptShare(image, concept, position) >= 0.5;
    }

    /** {@link #conceptPresent(int[], NovelConcept, ToyWorld.Position)} of a 32 × 32 image of any type. */
    public static boolean conceptPresent(BufferedImage image, NovelConcept concept, ToyWorld.Position position) {
        return conceptPresent(pixels(image), concept, position);
    }

    private static ObjectCheck judge(SceneObject o, Detection d) {
        if (d == null) {
            return new ObjectCheck(o, null, false, false, false, false);
        }
        boolean color;
        boolean shape;
        switch (o.kind()) {
            case NAMED -> {
                color = d.color() == o.color();
                shape = d.shape() == o.shape();
            }
            case CONCEPT -> {
                color = d.concept() == o.concept();
                shape = true;
            }
            default -> {
                color = true;
                shape = true;
            }
        }
        return new ObjectCheck(o, d, color, shape, d.size() == o.size(), d.position() == o.position());
    }

    // ---- pixel classes -----------------------------------------------------------------------------------------

    /**
     * Each pixel's class: -1 for background, {@code 0..3} for {@link ToyWorld.Color}'s ordinal, {@code 4 + i} for
     * concept {@code i}. Package-private for tests.
     */
    static int[] classify(int[] image, int bgRgb) {
        return classify(image, bgRgb, classVectors(bgRgb, EnumSet.allOf(NovelConcept.class)));
    }

    private static int[] classify(int[] image, int bgRgb, double[][] vec) {
        // Shortcut, exact: the fit is the projection of d = p − bg onto a convex set holding 0, so |fit| ≤ |d|, and a
        // fit of coverage s is at least s · m_k long (m_k: distance from 0 to the class's colour segment). So when
        // |d| < m_k / 2 for every class, no class reaches coverage 1/2: the pixel is background (most pixels are).
        double minReach = Double.POSITIVE_INFINITY;
        for (double[] v : vec) {
            if (v == null) {
                continue;
            }
            minReach = Math.min(minReach, v.length == 3 ? Math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
                    : segmentDistance(v));
        }
        double near = COVERAGE_THRESHOLD * minReach;
        double near2 = near * near;
        int bgR = (bgRgb >> 16) & 0xFF;
        int bgG = (bgRgb >> 8) & 0xFF;
        int bgB = bgRgb & 0xFF;
        int[] labels = new int[image.length];
        double[] fit = new double[2]; // residual², coverage
        for (int p = 0; p < image.length; p++) {
            int c = image[p];
            int dr = ((c >> 16) & 0xFF) - bgR;
            int dg = ((c >> 8) & 0xFF) - bgG;
            int db = (c & 0xFF) - bgB;
            if (dr * dr + dg * dg + db * db < near2) {
                labels[p] = -1;
                continue;
            }
            int best = -1;
            double bestRes = Double.POSITIVE_INFINITY;
            double bestCov = 0;
            for (int k = 0; k < vec.length; k++) {
                if (vec[k] == null) {
                    continue;
                }
                fitClass(image[p], bgRgb, vec[k], fit);
                // a two-colour class explains noise along one more direction: charge it for that
                double res = vec[k].length == 3 ? fit[0] : fit[0] + TWO_COLOR_PENALTY;
                if (res < bestRes) {
                    bestRes = res;
                    bestCov = fit[1];
                    best = k;
                }
            }
            labels[p] = bestCov >= COVERAGE_THRESHOLD ? best : -1;
        }
        return labels;
    }

    /** Distance from the origin to the segment between the two colour vectors {a, b} of {@code v}. */
    private static double segmentDistance(double[] v) {
        double ur = v[3] - v[0], ug = v[4] - v[1], ub = v[5] - v[2];
        double uu = ur * ur + ug * ug + ub * ub;
        double t = uu > 1e-9 ? clamp01(-(v[0] * ur + v[1] * ug + v[2] * ub) / uu) : 0;
        double x = v[0] + t * ur, y = v[1] + t * ug, z = v[2] + t * ub;
        return Math.sqrt(x * x + y * y + z * z);
    }

    /**
     * Per class, its colours minus the background: {r, g, b} or {r, g, b, r2, g2, b2}; null for a concept not in
     * {@code concepts} (not a class of this reading).
     */
    private static double[][] classVectors(int bgRgb, Set<NovelConcept> concepts) {
        double[][] vec = new double[CLASS_RGB.length][];
        for (int k = 0; k < vec.length; k++) {
            if (k >= NAMED && !concepts.contains(NovelConcept.values()[k - NAMED])) {
                continue;
            }
            int[] cs = CLASS_RGB[k];
            vec[k] = new double[3 * cs.length];
            for (int i = 0; i < cs.length; i++) {
                vec[k][3 * i] = ((cs[i] >> 16) & 0xFF) - ((bgRgb >> 16) & 0xFF);
                vec[k][3 * i + 1] = ((cs[i] >> 8) & 0xFF) - ((bgRgb >> 8) & 0xFF);
                vec[k][3 * i + 2] = (cs[i] & 0xFF) - (bgRgb & 0xFF);
            }
        }
        return vec;
    }

    /** Fits pixel {@code rgb} as background plus the class's colours: out = {residual², coverage}. */
    private static void fitClass(int rgb, int bgRgb, double[] v, double[] out) {
        double dr = ((rgb >> 16) & 0xFF) - ((bgRgb >> 16) & 0xFF);
        double dg = ((rgb >> 8) & 0xFF) - ((bgRgb >> 8) & 0xFF);
        double db = (rgb & 0xFF) - (bgRgb & 0xFF);
        if (v.length == 3) {
            fitOne(dr, dg, db, v[0], v[1], v[2], out);
        } else {
            fitTwo(dr, dg, db, v, out);
        }
    }

    /** d ≈ α a with α ∈ [0, 1]: out = {residual², α}. */
    private static void fitOne(double dr, double dg, double db, double ar, double ag, double ab, double[] out) {
        double aa = ar * ar + ag * ag + ab * ab;
        double alpha = aa > 1e-9 ? clamp01((dr * ar + dg * ag + db * ab) / aa) : 0;
        double er = dr - alpha * ar;
        double eg = dg - alpha * ag;
        double eb = db - alpha * ab;
        out[0] = er * er + eg * eg + eb * eb;
        out[1] = alpha;
    }

    /**
     * d ≈ α a + β b over the simplex α, β ≥ 0, α + β ≤ 1: the unconstrained least-squares solution when it is inside,
     * else the best point of the three edges (the minimum of a convex function over a triangle lies inside or on an
     * edge). out = {residual², α + β}.
     */
    private static void fitTwo(double dr, double dg, double db, double[] v, double[] out) {
        double ar = v[0], ag = v[1], ab = v[2], br = v[3], bg = v[4], bb = v[5];
        double aa = ar * ar + ag * ag + ab * ab;
        double bbn = br * br + bg * bg + bb * bb;
        double abn = ar * br + ag * bg + ab * bb;
        double da = dr * ar + dg * ag + db * ab;
        double dbn = dr * br + dg * bg + db * bb;
        double det = aa * bbn - abn * abn;
        if (det > 1e-6) {
            double alpha = (da * bbn - dbn * abn) / det;
            double beta = (dbn * aa - da * abn) / det;
            if (alpha >= 0 && beta >= 0 && alpha + beta <= 1) {
                double er = dr - alpha * ar - beta * br;
                double eg = dg - alpha * ag - beta * bg;
                double eb = db - alpha * ab - beta * bb;
                out[0] = er * er + eg * eg + eb * eb;
                out[1] = alpha + beta;
                return;
            }
        }
        // edges β = 0 and α = 0
        fitOne(dr, dg, db, ar, ag, ab, out);
        double res = out[0];
        double cov = out[1];
        fitOne(dr, dg, db, br, bg, bb, out);
        if (out[0] < res) {
            res = out[0];
            cov = out[1];
        }
        // edge α + β = 1: d − b ≈ t (a − b), coverage 1
        double ur = ar - br, ug = ag - bg, ub = ab - bb;
        double uu = ur * ur + ug * ug + ub * ub;
        double t = uu > 1e-9 ? clamp01(((dr - br) * ur + (dg - bg) * ug + (db - bb) * ub) / uu) : 0;
        double er = dr - br - t * ur;
        double eg = dg - bg - t * ug;
        double eb = db - bb - t * ub;
        double r3 = er * er + eg * eg + eb * eb;
        if (r3 < res) {
            res = r3;
            cov = 1;
        }
        out[0] = res;
        out[1] = cov;
    }

    // ---- regions -----------------------------------------------------------------------------------------------

    /**
     * 4-connected regions of equal class (or, with {@code anyClass}, of object pixels of any class), specks dropped,
     * wide regions split. Each region is its pixel indices, ascending.
     */
    private static List<int[]> regions(int[] labels, boolean anyClass) {
        if (!anyClass) {
            return components(labels, 0);
        }
        int[] object = new int[labels.length];
        for (int p = 0; p < labels.length; p++) {
            object[p] = labels[p] >= 0 ? 0 : -1;
        }
        return components(object, 0);
    }

    /**
     * Connected sets of pixels of equal non-negative key: joined through their 4 neighbours when {@code reach} is 0,
     * else through every pixel at most {@code reach} away in x and in y (bridging gaps). Specks (under
     * {@value #MIN_AREA} pixels) are dropped and sets too wide for one object split ({@link #split}); each set is its
     * pixel indices, ascending.
     */
    static List<int[]> components(int[] key, int reach) {
        int n = key.length;
        boolean[] seen = new boolean[n];
        int[] stack = new int[n];
        int[] buf = new int[n];
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < n; start++) {
            if (seen[start] || key[start] < 0) {
                continue;
            }
            int k = key[start];
            int size = 0;
            int top = 0;
            stack[top++] = start;
            seen[start] = true;
            while (top > 0) {
                int p = stack[--top];
                buf[size++] = p;
                int x = p % N;
                int y = p / N;
                if (reach == 0) {
                    if (x > 0) top = push(p - 1, k, key, seen, stack, top);
                    if (x < N - 1) top = push(p + 1, k, key, seen, stack, top);
                    if (y > 0) top = push(p - N, k, key, seen, stack, top);
                    if (y < N - 1) top = push(p + N, k, key, seen, stack, top);
                } else {
                    for (int qy = Math.max(0, y - reach); qy <= Math.min(N - 1, y + reach); qy++) {
                        for (int qx = Math.max(0, x - reach); qx <= Math.min(N - 1, x + reach); qx++) {
                            top = push(qy * N + qx, k, key, seen, stack, top);
                        }
                    }
                }
            }
            if (size >= MIN_AREA) {
                int[] region = Arrays.copyOf(buf, size);
                Arrays.sort(region);
                split(region, out);
            }
        }
        return out;
    }

    private static int push(int q, int k, int[] key, boolean[] seen, int[] stack, int top) {
        if (!seen[q] && key[q] == k) {
            seen[q] = true;
            stack[top++] = q;
        }
        return top;
    }

    /** Adds the region, or its two halves by 2-means in x when it is too wide for one object (recursively). */
    private static void split(int[] region, List<int[]> out) {
        int minX = N;
        int maxX = -1;
        for (int p : region) {
            minX = Math.min(minX, p % N);
            maxX = Math.max(maxX, p % N);
        }
        if (maxX - minX + 1 < SPLIT_WIDTH) {
            out.add(region);
            return;
        }
        double m1 = minX + 0.25 * (maxX - minX + 1);
        double m2 = maxX + 1 - 0.25 * (maxX - minX + 1);
        double cut = 0.5 * (m1 + m2);
        for (int iter = 0; iter < 32; iter++) {
            double s1 = 0, s2 = 0;
            int n1 = 0, n2 = 0;
            for (int p : region) {
                double x = p % N + 0.5;
                if (x < cut) {
                    s1 += x;
                    n1++;
                } else {
                    s2 += x;
                    n2++;
                }
            }
            if (n1 == 0 || n2 == 0) {
                break;
            }
            double next = 0.5 * (s1 / n1 + s2 / n2);
            if (next == cut) {
                break;
            }
            cut = next;
        }
        int[] a = new int[region.length];
        int[] b = new int[region.length];
        int na = 0, nb = 0;
        for (int p : region) {
            if (p % N + 0.5 < cut) {
                a[na++] = p;
            } else {
                b[nb++] = p;
            }
        }
        if (na == 0 || nb == 0) { // cannot happen with a region this wide; keep it whole rather than loop
            out.add(region);
            return;
        }
        // a half need not be connected any more, but each came from one object of the touching pair
        if (na >= MIN_AREA) {
            split(Arrays.copyOf(a, na), out);
        }
        if (nb >= MIN_AREA) {
            split(Arrays.copyOf(b, nb), out);
        }
    }

    // ---- measures ----------------------------------------------------------------------------------------------

    private static Detection measure(int[] region, int k, int[] owner, int[] image, int bg, double[][] vec) {
        // soft support: the region and every pixel next to it that no other object owns (its anti-aliased rim,
        // holes, specks of other classes), each weighted by its coverage refitted with this class's colours
        int[] support = new int[region.length * 3 + 8];
        int n = 0;
        boolean[] in = new boolean[N * N];
        for (int p : region) {
            in[p] = true;
            support[n++] = p;
        }
        for (int p : region) {
            int x = p % N;
            int y = p / N;
            for (int dy = -1; dy <= 1; dy++) {
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = x + dx;
                    int qy = y + dy;
                    if (qx < 0 || qy < 0 || qx >= N || qy >= N) {
                        continue;
                    }
                    int q = qy * N + qx;
                    if (!in[q] && owner[q] == 0) {
                        in[q] = true;
                        if (n == support.length) {
                            support = Arrays.copyOf(support, 2 * n);
                        }
                        support[n++] = q;
                    }
                }
            }
        }
        double[] coverage = new double[n];
        double[] fit = new double[2];
        for (int i = 0; i < n; i++) {
            fitClass(image[support[i]], bg, vec[k], fit);
            coverage[i] = fit[1];
        }
        double w0 = 0, sx = 0, sy = 0;
        for (int i = 0; i < n; i++) {
            int p = support[i];
            double w = coverage[i];
            w0 += w;
            sx += w * (p % N + 0.5);
            sy += w * (p / N + 0.5);
        }
        double cx = sx / w0;
        double cy = sy / w0;
        double m20 = 0, m02 = 0, m03 = 0, m40 = 0, m04 = 0, m22 = 0;
        for (int i = 0; i < n; i++) {
            int p = support[i];
            double w = coverage[i];
            double u = p % N + 0.5 - cx;
            double v = p / N + 0.5 - cy;
            m20 += w * u * u;
            m02 += w * v * v;
            m03 += w * v * v * v;
            m40 += w * u * u * u * u;
            m04 += w * v * v * v * v;
            m22 += w * u * u * v * v;
        }
        double skew = m03 / w0 / Math.pow(m02 / w0, 1.5);
        double squareness = m22 > 0 ? (m40 + m04) / (2 * m22) : Double.POSITIVE_INFINITY;
        int minX = N, maxX = -1, minY = N, maxY = -1;
        for (int p : region) {
            minX = Math.min(minX, p % N);
            maxX = Math.max(maxX, p % N);
            minY = Math.min(minY, p / N);
            maxY = Math.max(maxY, p / N);
        }
        int w = maxX - minX + 1;
        int h = maxY - minY + 1;
        double fill = region.length / (double) (w * h);
        ToyWorld.Shape shape = skew < TRIANGLE_SKEW ? ToyWorld.Shape.TRIANGLE
                : squareness < SQUARE_KURTOSIS ? ToyWorld.Shape.SQUARE : ToyWorld.Shape.CIRCLE;
        ToyWorld.Size size = w0 >= LARGE_AREA ? ToyWorld.Size.LARGE : ToyWorld.Size.SMALL;
        ToyWorld.Color color = k < NAMED ? ToyWorld.Color.values()[k] : null;
        NovelConcept concept = k < NAMED ? null : NovelConcept.values()[k - NAMED];
        return new Detection(color, concept, region, w0, cx, cy, w, h, fill, skew, squareness, size, positionOf(cx),
                shape);
    }

    private static double centroidX(int[] region) {
        double s = 0;
        for (int p : region) {
            s += p % N + 0.5;
        }
        return s / region.length;
    }

    private static ToyWorld.Position positionOf(double x) {
        return x < N / 3.0 ? ToyWorld.Position.LEFT : x >= 2 * N / 3.0 ? ToyWorld.Position.RIGHT
                : ToyWorld.Position.CENTER;
    }

    // ---- background --------------------------------------------------------------------------------------------

    /** Per-channel median of the border pixels, 0xRRGGBB. */
    static int borderMedian(int[] image) {
        int count = 4 * N - 4;
        int[] r = new int[count];
        int[] g = new int[count];
        int[] b = new int[count];
        int i = 0;
        for (int y = 0; y < N; y++) {
            for (int x = 0; x < N; x++) {
                if (y == 0 || y == N - 1 || x == 0 || x == N - 1) {
                    int c = image[y * N + x];
                    r[i] = (c >> 16) & 0xFF;
                    g[i] = (c >> 8) & 0xFF;
                    b[i] = c & 0xFF;
                    i++;
                }
            }
        }
        return median(r) << 16 | median(g) << 8 | median(b);
    }

    private static int median(int[] v) {
        Arrays.sort(v);
        return (v[v.length / 2 - 1] + v[v.length / 2] + 1) / 2;
    }

    private static ToyWorld.Background background(int rgb) {
        double luma = 0.299 * ((rgb >> 16) & 0xFF) + 0.587 * ((rgb >> 8) & 0xFF) + 0.114 * (rgb & 0xFF);
        return luma > 127.5 ? ToyWorld.Background.WHITE : ToyWorld.Background.BLACK;
    }

    // ---- set-up ------------------------------------------------------------------------------------------------

    private static int[][] classColors() {
        List<int[]> out = new ArrayList<>();
        for (ToyWorld.Color c : ToyWorld.Color.values()) {
            out.add(new int[] {c.rgb()});
        }
        for (NovelConcept c : NovelConcept.values()) {
            out.add(new int[] {c.rgbA(), c.rgbB()});
        }
        return out.toArray(new int[0][]);
    }

    /** √(largest small-object area × smallest large-object area), from the outlines' exact areas. */
    private static double largeAreaThreshold() {
        double maxSmall = 0;
        double minLarge = Double.POSITIVE_INFINITY;
        for (ToyWorld.Shape s : ToyWorld.Shape.values()) {
            maxSmall = Math.max(maxSmall, outlineArea(s, ToyWorld.Size.SMALL.radius()));
            minLarge = Math.min(minLarge, outlineArea(s, ToyWorld.Size.LARGE.radius()));
        }
        return Math.sqrt(maxSmall * minLarge);
    }

    private static double outlineArea(ToyWorld.Shape s, double r) {
        return switch (s) {
            case CIRCLE -> Math.PI * r * r;
            case SQUARE -> (1.8 * r) * (1.8 * r);
            case TRIANGLE -> 2 * r * r;
        };
    }

    private static void checkImage(int[] image) {
        if (image == null || image.length != N * N) {
            throw new IllegalArgumentException("the toy checker reads " + N + "x" + N + " images (" + N * N
                    + " pixels), got " + (image == null ? "null" : image.length + " pixels"));
        }
    }

    private static int[] pixels(BufferedImage image) {
        if (image.getWidth() != N || image.getHeight() != N) {
            throw new IllegalArgumentException("the toy checker reads " + N + "x" + N + " images, got "
                    + image.getWidth() + "x" + image.getHeight());
        }
        return ToyRenderer.pixels(image);
    }

    private static double clamp01(double v) {
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
}
