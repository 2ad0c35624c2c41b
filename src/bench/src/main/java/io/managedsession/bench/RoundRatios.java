package io.managedsession.bench;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.apache.commons.math3.distribution.BinomialDistribution;
import org.apache.commons.math3.stat.StatUtils;

/**
 * What the rounds of a load run say about one implementation's throughput against another's at one point: each
 * round's own ratio (the two measured in the same round, so that slow drift of the machine falls on both), their
 * median, and a distribution-free confidence interval for that median from the rounds' order statistics.
 *
 * <p>The ratio of the point's sums over all rounds, which the report's tables give, is one number; it does not say
 * whether five rounds that are 7 to 58 % apart on a shared 2-core machine can tell 0.95 from 0.97. The interval does:
 * a target below it was met, a target above it was missed, and a target inside it was not settled by the run. The
 * interval assumes nothing about how the rounds' ratios are distributed, only that rounds are independent draws;
 * the rotating order of the implementations within rounds is what makes that a fair assumption.
 *
 * @param median the median of the rounds' ratios
 * @param lower  the interval's lower end, an order statistic of the rounds' ratios
 * @param upper  the interval's upper end
 * @param confidence the probability that an interval so chosen holds the true median: at least {@link #CONFIDENCE},
 *                   more where the rounds' count allows no closer order statistic
 */
record RoundRatios(double median, double lower, double upper, double confidence) {

    /** The least coverage the interval is chosen for. */
    static final double CONFIDENCE = 0.95;

    /** How a point stands against its target. */
    enum Verdict {
        /** The whole interval is at or above the target. */
        MET(""),
        /** The whole interval is below the target. */
        MISSED(" ✗"),
        /** The target lies inside the interval: the rounds disagree about it. */
        UNSETTLED(" ?");

        final String mark;

        Verdict(String mark) {
            this.mark = mark;
        }
    }

    /**
     * The rounds' ratios of {@code measured} to {@code against}, round by round.
     *
     * @return empty when the rounds are too few for any interval of {@link #CONFIDENCE} (fewer than six)
     * @throws IllegalArgumentException when the two did not run the same number of rounds
     */
    static Optional<RoundRatios> of(List<Double> measured, List<Double> against) {
        if (measured.size() != against.size()) {
            throw new IllegalArgumentException("Round ratios need the same rounds on both sides, but one side has "
                    + measured.size() + " rounds and the other " + against.size());
        }
        int n = measured.size();
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) {
            ratios[i] = measured.get(i) / against.get(i);
        }
        Arrays.sort(ratios);
        // The k-th smallest and k-th largest of n ratios bracket the median with probability 1 - 2 P(B < k), B the
        // number of ratios below the true median, binomial(n, 1/2). Take the largest k that keeps that at CONFIDENCE.
        BinomialDistribution below = new BinomialDistribution(null, n, 0.5);
        int k = 0;
        while (k + 1 <= n / 2 && 1 - 2 * below.cumulativeProbability(k) >= CONFIDENCE) {
            k++;
        }
        if (k == 0) {
            return Optional.empty();
        }
        return Optional.of(new RoundRatios(StatUtils.percentile(ratios, 50), ratios[k - 1], ratios[n - k],
                1 - 2 * below.cumulativeProbability(k - 1)));
    }

    /** Where the interval lies against {@code target}. */
    Verdict against(double target) {
        if (lower >= target) {
            return Verdict.MET;
        }
        return upper < target ? Verdict.MISSED : Verdict.UNSETTLED;
    }
}
