package io.managedsession.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** The load report's reading of rounds: each round's ratio, their median and its order-statistic interval. */
class RoundRatiosTest {

    @Test
    void twelveRoundsBracketTheMedianByTheirThirdSmallestAndThirdLargestRatio() {
        // Ratios 0.90, 0.91, ..., 1.01 against a peer at 1,000 tps, given in shuffled round order.
        List<Double> measured = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            measured.add(900.0 + 10 * i);
        }
        Collections.shuffle(measured, new Random(7));
        List<Double> against = Collections.nCopies(12, 1000.0);

        RoundRatios ratios = RoundRatios.of(measured, against).orElseThrow();

        assertThat(ratios.median()).isCloseTo(0.955, within(1e-9));
        assertThat(ratios.lower()).isCloseTo(0.92, within(1e-9));
        assertThat(ratios.upper()).isCloseTo(0.99, within(1e-9));
        // 1 - 2 P(B <= 2) for B binomial(12, 1/2): 1 - 2 * 79 / 4096.
        assertThat(ratios.confidence()).isCloseTo(1 - 2 * 79.0 / 4096, within(1e-12));
    }

    @Test
    void eachRoundIsDividedByTheSameRoundOfThePeerNotByThePeersMean() {
        // The peer's rounds drift from 1,000 to 2,000 tps and the measured one keeps exactly half of each round.
        List<Double> against = List.of(1000.0, 1200.0, 1400.0, 1600.0, 1800.0, 2000.0);
        List<Double> measured = against.stream().map(tps -> tps / 2).toList();

        RoundRatios ratios = RoundRatios.of(measured, against).orElseThrow();

        assertThat(ratios.lower()).isCloseTo(0.5, within(1e-9));
        assertThat(ratios.upper()).isCloseTo(0.5, within(1e-9));
    }

    @Test
    void fiveRoundsAreTooFewForAnIntervalOfNinetyFivePercent() {
        List<Double> five = List.of(1.0, 2.0, 3.0, 4.0, 5.0);

        assertThat(RoundRatios.of(five, five)).isEmpty();
        // Six rounds: the smallest and the largest ratio, 1 - 2 / 64 of the time.
        List<Double> six = List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
        assertThat(RoundRatios.of(six, six).orElseThrow().confidence()).isCloseTo(1 - 2.0 / 64, within(1e-12));
    }

    @Test
    void aTargetBelowTheIntervalIsMetAboveItMissedAndInsideItUnsettled() {
        RoundRatios ratios = new RoundRatios(0.96, 0.93, 0.99, 0.96);

        assertThat(ratios.against(0.93)).isEqualTo(RoundRatios.Verdict.MET);
        assertThat(ratios.against(0.995)).isEqualTo(RoundRatios.Verdict.MISSED);
        assertThat(ratios.against(0.95)).isEqualTo(RoundRatios.Verdict.UNSETTLED);
    }

    @Test
    void roundsOfDifferentCountsAreRefusedNamingBothCounts() {
        assertThatThrownBy(() -> RoundRatios.of(List.of(1.0, 2.0), List.of(1.0)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 rounds").hasMessageContaining("other 1");
    }
}
