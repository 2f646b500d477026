package dev.perfusion.toy;

import java.util.List;
import java.util.Objects;

/**
 * Everything {@link ToyChecker#read} finds in an image: the background and the objects.
 *
 * @param background    WHITE or BLACK, whichever the border's median colour is nearer to (by luminance)
 * @param backgroundRgb the border's per-channel median colour, 0xRRGGBB
 * @param detections    the objects, ordered by centroid x
 */
public record ImageReading(ToyWorld.Background background, int backgroundRgb, List<Detection> detections) {
    public ImageReading {
        Objects.requireNonNull(background, "background");
        detections = List.copyOf(detections);
    }

    /** The detections whose centroid lies in the position's third of the image. */
    public List<Detection> at(ToyWorld.Position p) {
        return detections.stream().filter(d -> d.position() == p).toList();
    }
}
