package io.managedsession;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a commit stands in the primary's write-ahead log (its WAL LSN): the token of read-your-writes. After a
 * transaction commits, {@link SessionManager#lastCommitPosition()} gives its position; keep it where it fits (the
 * thread, an HTTP session, a response header: {@link #toString()} and {@link #parse(String)} carry it as text such as
 * {@code 0/16B3748}), and a later read-only transaction with
 * {@link TransactionOptions.Builder#notBefore(CommitPosition)} runs only where that commit is visible.
 *
 * <p>Positions are ordered: a later commit on the same primary has a greater position. Immutable and thread safe.
 */
public final class CommitPosition implements Comparable<CommitPosition> {

    private static final Pattern TEXT = Pattern.compile("([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})");

    private final long lsn;

    private CommitPosition(long lsn) {
        this.lsn = lsn;
    }

    /**
     * Reads a position from PostgreSQL's text form of an LSN, as {@link #toString()} writes it.
     *
     * @param text two hexadecimal numbers of up to 8 digits each, separated by a slash, such as {@code 0/16B3748}
     * @return the position
     * @throws IllegalArgumentException when the text is not such a position
     */
    public static CommitPosition parse(String text) {
        Objects.requireNonNull(text, "text");
        Matcher matcher = TEXT.matcher(text.trim());
        if (!matcher.matches()) {
            String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
            throw new IllegalArgumentException("A commit position is a WAL location such as '0/16B3748' (two"
                    + " hexadecimal numbers of up to 8 digits, separated by '/'), but was '" + shown + "'");
        }
        return new CommitPosition(Long.parseLong(matcher.group(1), 16) << 32 | Long.parseLong(matcher.group(2), 16));
    }

    /**
     * Returns whether this position is at or after {@code other}: a server that has replayed up to this position has
     * every commit up to {@code other} too.
     *
     * @param other another position
     * @return whether this one is not before it
     */
    public boolean isAtOrAfter(CommitPosition other) {
        return compareTo(other) >= 0;
    }

    /** Orders positions as the WAL does (unsigned LSNs). */
    @Override
    public int compareTo(CommitPosition other) {
        return Long.compareUnsigned(lsn, other.lsn);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CommitPosition that && lsn == that.lsn;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(lsn);
    }

    /** PostgreSQL's text form of the LSN, for example {@code 0/16B3748}; {@link #parse(String)} reads it back. */
    @Override
    public String toString() {
        return Long.toHexString(lsn >>> 32).toUpperCase(java.util.Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFF_FFFFL).toUpperCase(java.util.Locale.ROOT);
    }
}
