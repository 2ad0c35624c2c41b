package io.managedsession.internal;

import java.util.Objects;

/**
 * The check for user-given names that end up in {@code application_name}, log lines and error messages (a manager's
 * name, a transaction's label): printable ASCII, so that no control character or look-alike reaches a log or a DBA's
 * screen, and short enough for PostgreSQL's 63-byte identifiers; and the same rule for showing, in a message, a name
 * that was never checked.
 */
public final class PrintableAscii {

    private PrintableAscii() {
    }

    /**
     * Returns {@code value} when it is 1 to {@code maxLength} printable ASCII characters, not all blank.
     *
     * @param setting   the setting's name, for the message
     * @param maxLength the most characters allowed
     * @param why       what the value is used for, shown in the message (for example {@code " (it names the pool)"}),
     *                  or empty
     * @throws IllegalArgumentException naming the setting, the value (control characters shown as {@code ?}) and the
     *                                  rule
     */
    public static String require(String value, String setting, int maxLength, String why) {
        Objects.requireNonNull(value, setting);
        if (value.isBlank() || value.length() > maxLength || !value.chars().allMatch(PrintableAscii::isPrintable)) {
            throw new IllegalArgumentException(setting + " must be 1 to " + maxLength + " printable ASCII characters"
                    + why + ", but was '" + value.replaceAll("\\p{Cntrl}", "?") + "' (" + value.length()
                    + " characters)");
        }
        return value;
    }

    /**
     * {@code text} as a message may show a name taken from input it did not check (a setting or table named in SQL):
     * its first {@code maxLength} characters, each one that is not printable ASCII shown as {@code ?}.
     */
    static String shown(CharSequence text, int maxLength) {
        StringBuilder shown = new StringBuilder(Math.min(text.length(), maxLength));
        for (int i = 0; i < text.length() && i < maxLength; i++) {
            char c = text.charAt(i);
            shown.append(isPrintable(c) ? c : '?');
        }
        return shown.toString();
    }

    private static boolean isPrintable(int c) {
        return c >= 0x20 && c < 0x7f;
    }
}
