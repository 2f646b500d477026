package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.toy.ToyWorld.Background;
import dev.perfusion.toy.ToyWorld.Color;
import dev.perfusion.toy.ToyWorld.Outline;
import dev.perfusion.toy.ToyWorld.Pattern;
import dev.perfusion.toy.ToyWorld.Position;
import dev.perfusion.toy.ToyWorld.Shape;
import dev.perfusion.toy.ToyWorld.Size;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Scenes and their objects: the caption grammar, validation, lookup by position. */
@Tag("unit")
class ToySceneTest {
    private static final SceneObject SMALL_RED_CIRCLE_LEFT = SceneObject.named(Shape.CIRCLE, Color.RED, Size.SMALL, Position.LEFT);
    private static final SceneObject LARGE_BLUE_SQUARE_LEFT = SceneObject.named(Shape.SQUARE, Color.BLUE, Size.LARGE, Position.LEFT);
    private static final SceneObject SMALL_YELLOW_TRIANGLE_RIGHT =
            SceneObject.named(Shape.TRIANGLE, Color.YELLOW, Size.SMALL, Position.RIGHT);

    @Test
    void oneObjectCaptions() {
        assertEquals("a small red circle on the left, on a white background",
                Scene.of(Background.WHITE, SMALL_RED_CIRCLE_LEFT).caption());
        assertEquals("a large green triangle in the center, on a black background",
                Scene.of(Background.BLACK, SceneObject.named(Shape.TRIANGLE, Color.GREEN, Size.LARGE, Position.CENTER))
                        .caption());
        assertEquals("a small yellow square on the right, on a white background",
                Scene.of(Background.WHITE, SceneObject.named(Shape.SQUARE, Color.YELLOW, Size.SMALL, Position.RIGHT))
                        .caption());
        // jitter does not show in the caption
        assertEquals("a small red circle on the left, on a white background",
                Scene.of(Background.WHITE, SMALL_RED_CIRCLE_LEFT.withJitter(1, -1)).caption());
    }

    @Test
    void twoObjectCaptionsFollowListOrder() {
        assertEquals("a large blue square on the left and a small yellow triangle on the right, on a black background",
                Scene.of(Background.BLACK, LARGE_BLUE_SQUARE_LEFT, SMALL_YELLOW_TRIANGLE_RIGHT).caption());
        assertEquals("a small yellow triangle on the right and a large blue square on the left, on a black background",
                Scene.of(Background.BLACK, SMALL_YELLOW_TRIANGLE_RIGHT, LARGE_BLUE_SQUARE_LEFT).caption());
    }

    @Test
    void thingAndConceptCaptions() {
        SceneObject thing = new SceneObject(SceneObject.Kind.THING, null, null,
                new SceneObject.Thing(Outline.STAR, Pattern.STRIPED, 0x123456, 0x654321), null, Size.LARGE,
                Position.LEFT, 0, 0);
        assertEquals("a large thing on the left, on a white background", Scene.of(Background.WHITE, thing).caption());
        assertEquals("a large thing on the left and a small yellow triangle on the right, on a white background",
                Scene.of(Background.WHITE, thing, SMALL_YELLOW_TRIANGLE_RIGHT).caption());
        SceneObject ring = SceneObject.concept(NovelConcept.RING, Size.SMALL, Position.CENTER);
        assertEquals("a small <ring> in the center, on a black background", Scene.of(Background.BLACK, ring).caption());
        assertEquals("large <diamond>", SceneObject.concept(NovelConcept.DIAMOND, Size.LARGE, Position.LEFT).nounPhrase());
        assertEquals(Outline.STAR, thing.outline());
        assertEquals(Outline.RING, ring.outline());
        assertEquals(Outline.TRIANGLE, SMALL_YELLOW_TRIANGLE_RIGHT.outline());
    }

    @Test
    void sceneValidation() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> Scene.of(Background.WHITE));
        assertTrue(none.getMessage().contains("one or two objects") && none.getMessage().contains("0"), none.getMessage());
        IllegalArgumentException three = assertThrows(IllegalArgumentException.class, () -> Scene.of(Background.WHITE,
                SMALL_RED_CIRCLE_LEFT, SMALL_YELLOW_TRIANGLE_RIGHT,
                SceneObject.named(Shape.SQUARE, Color.GREEN, Size.SMALL, Position.CENTER)));
        assertTrue(three.getMessage().contains("one or two objects") && three.getMessage().contains("3"),
                three.getMessage());
        IllegalArgumentException same = assertThrows(IllegalArgumentException.class,
                () -> Scene.of(Background.WHITE, SMALL_RED_CIRCLE_LEFT, LARGE_BLUE_SQUARE_LEFT));
        assertTrue(same.getMessage().contains("same position") && same.getMessage().contains("LEFT"), same.getMessage());
        assertThrows(NullPointerException.class, () -> Scene.of(null, SMALL_RED_CIRCLE_LEFT));
    }

    @Test
    void theSceneKeepsAnImmutableCopyOfItsObjects() {
        List<SceneObject> list = new ArrayList<>(List.of(SMALL_RED_CIRCLE_LEFT));
        Scene s = new Scene(list, Background.WHITE);
        list.add(SMALL_YELLOW_TRIANGLE_RIGHT);
        assertEquals(1, s.objects().size());
        assertThrows(UnsupportedOperationException.class, () -> s.objects().add(SMALL_YELLOW_TRIANGLE_RIGHT));
    }

    @Test
    void sceneObjectKindFieldMismatchesAreRejected() {
        SceneObject.Thing t = new SceneObject.Thing(Outline.RING, Pattern.PLAIN, 1, 2);
        // NAMED without a colour
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SceneObject(
                SceneObject.Kind.NAMED, Shape.CIRCLE, null, null, null, Size.SMALL, Position.LEFT, 0, 0));
        assertTrue(e.getMessage().contains("NAMED") && e.getMessage().contains("exactly its own fields"), e.getMessage());
        // NAMED with a thing as well
        assertThrows(IllegalArgumentException.class, () -> new SceneObject(
                SceneObject.Kind.NAMED, Shape.CIRCLE, Color.RED, t, null, Size.SMALL, Position.LEFT, 0, 0));
        // THING with a colour
        e = assertThrows(IllegalArgumentException.class, () -> new SceneObject(
                SceneObject.Kind.THING, null, Color.RED, t, null, Size.SMALL, Position.LEFT, 0, 0));
        assertTrue(e.getMessage().contains("THING"), e.getMessage());
        // THING without its look
        assertThrows(IllegalArgumentException.class, () -> new SceneObject(
                SceneObject.Kind.THING, null, null, null, null, Size.SMALL, Position.LEFT, 0, 0));
        // CONCEPT with a shape
        e = assertThrows(IllegalArgumentException.class, () -> new SceneObject(
                SceneObject.Kind.CONCEPT, Shape.CIRCLE, null, null, NovelConcept.RING, Size.SMALL, Position.LEFT, 0, 0));
        assertTrue(e.getMessage().contains("CONCEPT"), e.getMessage());
        assertThrows(NullPointerException.class, () -> SceneObject.named(Shape.CIRCLE, Color.RED, null, Position.LEFT));
        assertThrows(NullPointerException.class, () -> SceneObject.named(Shape.CIRCLE, Color.RED, Size.SMALL, null));
        assertThrows(NullPointerException.class, () -> new SceneObject.Thing(null, Pattern.PLAIN, 0, 0));
    }

    @Test
    void jitterAndPositionMoveTheCentre() {
        SceneObject o = SMALL_RED_CIRCLE_LEFT;
        assertEquals(8.0, o.centerX());
        assertEquals(16.0, o.centerY());
        SceneObject j = o.withJitter(-1, 1);
        assertEquals(7.0, j.centerX());
        assertEquals(17.0, j.centerY());
        SceneObject moved = j.withPosition(Position.RIGHT);
        assertEquals(23.0, moved.centerX());
        assertEquals(17.0, moved.centerY());
        assertEquals(o.shape(), moved.shape());
        assertEquals(o.color(), moved.color());
        assertEquals(o.size(), moved.size());
        assertEquals("small red circle", moved.nounPhrase());
    }

    @Test
    void atFindsTheObjectAtAPosition() {
        Scene s = Scene.of(Background.BLACK, SMALL_YELLOW_TRIANGLE_RIGHT, LARGE_BLUE_SQUARE_LEFT);
        assertSame(LARGE_BLUE_SQUARE_LEFT, s.at(Position.LEFT));
        assertSame(SMALL_YELLOW_TRIANGLE_RIGHT, s.at(Position.RIGHT));
        assertNull(s.at(Position.CENTER));
        Scene one = Scene.of(Background.WHITE, SMALL_RED_CIRCLE_LEFT);
        assertSame(SMALL_RED_CIRCLE_LEFT, one.at(Position.LEFT));
        assertNull(one.at(Position.RIGHT));
    }
}
