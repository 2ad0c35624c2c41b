package io.managedsession.support;

import java.nio.file.Path;

/** Files of the checkout the tests read (the README, the docs), wherever the module's tests run from. */
public final class Checkout {

    /** Set by the build to the top of the checkout; a module's tests run two levels below it otherwise. */
    private static final String PROPERTY = "managedsession.checkout";

    private Checkout() {
    }

    /** A file of the checkout, by its path from the top: {@code file("README.md")}. */
    public static Path file(String pathFromTop) {
        String top = System.getProperty(PROPERTY);
        return (top != null ? Path.of(top) : Path.of("..", "..")).resolve(pathFromTop).normalize();
    }
}
