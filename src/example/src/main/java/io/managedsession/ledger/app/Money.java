package io.managedsession.ledger.app;

import java.math.BigDecimal;

/** Amounts as people type and read them ({@code 12.34}) and as the ledger stores them (1234 minor units). */
final class Money {

    /** The largest single amount the application accepts, in minor units: ten trillion. */
    static final long MAX_AMOUNT = 1_000_000_000_000_000L;

    private Money() {
    }

    /**
     * Parses {@code 12}, {@code 12.3} or {@code 12.34} into minor units.
     *
     * @throws IllegalArgumentException naming the text and what is wrong with it
     */
    static long parse(String text) {
        BigDecimal value;
        try {
            value = new BigDecimal(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not an amount; write it like 12.34");
        }
        if (value.scale() > 2 && value.stripTrailingZeros().scale() > 2) {
            throw new IllegalArgumentException("'" + text + "' has more than two decimal places");
        }
        BigDecimal minor = value.movePointRight(2);
        if (minor.compareTo(BigDecimal.valueOf(MAX_AMOUNT)) > 0 || minor.compareTo(BigDecimal.valueOf(-MAX_AMOUNT)) < 0) {
            throw new IllegalArgumentException("'" + text + "' is out of range; the largest amount is "
                    + format(MAX_AMOUNT));
        }
        return minor.longValueExact();
    }

    /** Formats minor units as {@code 12.34}, {@code -0.05}. */
    static String format(long minor) {
        return BigDecimal.valueOf(minor, 2).toPlainString();
    }
}
