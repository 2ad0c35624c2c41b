package io.managedsession.support;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;

/**
 * Captures every log event at every level while open: SLF4J (logback) and, bridged, the PostgreSQL driver's
 * java.util.logging. Closing restores the levels it raised.
 */
public final class LogCapture implements AutoCloseable {

    /** The PostgreSQL driver logs through java.util.logging, whose names clash with logback's here. */
    private static final java.util.logging.Level EVERY_DRIVER_EVENT = java.util.logging.Level.ALL;

    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Map<Logger, Level> previousLevels = new HashMap<>();
    private final java.util.logging.Logger driverLogger = java.util.logging.Logger.getLogger("org.postgresql");
    private final java.util.logging.Level previousDriverLevel;

    private LogCapture() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        for (Logger logger : context.getLoggerList()) {
            previousLevels.put(logger, logger.getLevel());
            logger.setLevel(Level.TRACE); // logback's lowest: every event
        }
        appender.setContext(context);
        appender.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(appender);

        previousDriverLevel = driverLogger.getLevel();
        SLF4JBridgeHandler.install();
        driverLogger.setLevel(EVERY_DRIVER_EVENT);
    }

    /** Starts capturing everything. */
    public static LogCapture everything() {
        return new LogCapture();
    }

    /** Every captured event as text: level, logger, formatted message, and the full stack trace when there is one. */
    public List<String> lines() {
        List<String> lines = new ArrayList<>();
        for (ILoggingEvent event : List.copyOf(appender.list)) {
            StringBuilder line = new StringBuilder()
                    .append(event.getLevel()).append(' ')
                    .append(event.getLoggerName()).append(" - ")
                    .append(event.getFormattedMessage());
            if (event.getThrowableProxy() != null) {
                line.append('\n').append(ThrowableProxyUtil.asString(event.getThrowableProxy()));
            }
            lines.add(line.toString());
        }
        return lines;
    }

    @Override
    public void close() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender(appender);
        appender.stop();
        previousLevels.forEach(Logger::setLevel);
        driverLogger.setLevel(previousDriverLevel);
        SLF4JBridgeHandler.uninstall();
    }
}
