import java.util.Objects;

public final class ClampValue {
    private ClampValue() {}

    public record Bounds(int lo, int hi) {}

    public static int clampValue(int value, int lo, int hi) {
        if (lo > hi) {
            throw new IllegalArgumentException("lo > hi: " + Objects.toString(lo));
        }
        if (value < lo) {
            return lo;
        } else if (value > hi) {
            return hi;
        }
        return value;
    }
}
