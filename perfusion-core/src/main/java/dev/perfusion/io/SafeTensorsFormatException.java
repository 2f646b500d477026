package dev.perfusion.io;

import java.io.IOException;

/**
 * A safetensors file that does not follow the format, or uses a part of it this library does not support
 * (an unknown dtype, a tensor over 2 GiB). The message starts with the file and names the problem.
 *
 * <p>It is an {@link IOException} because it is a property of the file's content, found while reading it:
 * code that reports unreadable files already handles it.
 */
public final class SafeTensorsFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String problem;

    /**
     * @param file    the file, as the user named it
     * @param problem what is wrong, e.g. {@code tensor 'w': unsupported dtype 'F64'}
     */
    public SafeTensorsFormatException(String file, String problem) {
        super(file + ": " + problem);
        this.file = file;
        this.problem = problem;
    }

    /** The file, as the user named it. */
    public String file() {
        return file;
    }

    /** The problem, without the file name. */
    public String problem() {
        return problem;
    }
}
