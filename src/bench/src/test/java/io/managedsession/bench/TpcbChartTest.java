package io.managedsession.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.jfree.data.xy.YIntervalSeriesCollection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.managedsession.bench.TpcbLoad.Point;
import io.managedsession.bench.TpcbLoad.Ratios;

/** What the load run's chart draws in its ratio panels: the rounds' reading when there are rounds enough. */
class TpcbChartTest {

    private static final List<String> COLUMNS = List.of("4", "1000 virtual");

    @Test
    void withTwelveRoundsEachPointIsTheMedianOfTheRoundsRatiosWithTheirInterval() {
        Map<String, Point> raw = points(List.of(1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0,
                1000.0, 1000.0, 1000.0, 1000.0));
        // Ratios 0.90, 0.91, ..., 1.01: median 0.955, interval [0.92, 0.99] (RoundRatiosTest).
        Map<String, Point> layer = points(List.of(900.0, 910.0, 920.0, 930.0, 940.0, 950.0, 960.0, 970.0, 980.0,
                990.0, 1000.0, 1010.0));
        Map<String, Map<String, Point>> implementations = new LinkedHashMap<>();
        implementations.put("raw JDBC + HikariCP", raw);
        implementations.put("SessionManager, JDBC statements", layer);

        Ratios ratios = Ratios.of(COLUMNS, implementations, raw);

        YIntervalSeriesCollection data = ratios.data();
        assertThat(ratios.byRounds()).isTrue();
        assertThat(data.getSeriesKey(1)).isEqualTo("SessionManager, JDBC statements");
        for (int column = 0; column < COLUMNS.size(); column++) {
            assertThat(data.getYValue(1, column)).isCloseTo(0.955, within(1e-9));
            assertThat(data.getStartYValue(1, column)).isCloseTo(0.92, within(1e-9));
            assertThat(data.getEndYValue(1, column)).isCloseTo(0.99, within(1e-9));
            assertThat(data.getYValue(0, column)).isCloseTo(1.0, within(1e-9));
            // The two series sit either side of the column, not on each other.
            assertThat(data.getXValue(0, column)).isLessThan(column);
            assertThat(data.getXValue(1, column)).isGreaterThan(column);
        }
    }

    @Test
    void withFewerThanSixRoundsEachPointIsTheRatioOfTheSumsWithoutAnInterval() {
        Map<String, Point> raw = points(List.of(1000.0, 2000.0, 3000.0));
        Map<String, Point> layer = points(List.of(900.0, 1800.0, 2400.0));

        Ratios ratios = Ratios.of(COLUMNS, Map.of("SessionManager, JDBC statements", layer), raw);

        assertThat(ratios.byRounds()).isFalse();
        assertThat(ratios.data().getYValue(0, 0)).isCloseTo(5100.0 / 6000, within(1e-9));
        assertThat(ratios.data().getStartYValue(0, 0)).isEqualTo(ratios.data().getYValue(0, 0));
        assertThat(ratios.data().getEndYValue(0, 0)).isEqualTo(ratios.data().getYValue(0, 0));
    }

    @Test
    void theChartIsDrawnAsFourPanelsOfOnePicture(@TempDir Path dir) throws Exception {
        List<Double> rounds = List.of(1000.0, 1100.0, 900.0, 1000.0, 1050.0, 950.0);
        Map<String, Map<String, Point>> results = new LinkedHashMap<>();
        results.put("raw JDBC + HikariCP", points(rounds));
        results.put("SessionManager, JDBC statements", points(rounds));
        results.put("SessionManager + jOOQ", points(rounds.stream().map(tps -> tps * 0.8).toList()));
        Path file = dir.resolve("tpcb-throughput.png");

        TpcbLoad.chart(file, COLUMNS, results);

        BufferedImage image = ImageIO.read(file.toFile());
        assertThat(image.getWidth()).isEqualTo(1800);
        assertThat(image.getHeight()).isEqualTo(1120);
    }

    /** A point per column with these rounds' throughputs, one second each, and some latencies. */
    private static Map<String, Point> points(List<Double> roundTps) {
        Map<String, Point> points = new LinkedHashMap<>();
        for (String column : COLUMNS) {
            Point point = new Point();
            for (double tps : roundTps) {
                point.roundTps.add(tps);
                point.transactions += Math.round(tps);
                point.seconds += 1;
                point.latencies.recordValue(2_000_000);
            }
            points.put(column, point);
        }
        return points;
    }
}
