package io.managedsession.internal;

import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

import org.jooq.Configuration;
import org.jooq.DSLContext;
import org.jooq.ExecuteType;
import org.jooq.Record;
import org.jooq.RecordContext;
import org.jooq.RecordListener;
import org.jooq.RecordListenerProvider;
import org.jooq.RecordType;
import org.jooq.SQLDialect;
import org.jooq.conf.InvocationOrder;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/**
 * The load of one record filled outside jOOQ's fetching (a prepared query's row), with the events jOOQ's
 * {@link RecordListener}s get when jOOQ fetches a record: {@code loadStart} before its values are set,
 * {@code loadEnd} after (in the order the settings' {@code recordListenerEndInvocationOrder} gives), and
 * {@code exception} when setting them fails (then {@code loadEnd}, and the failure is thrown), each on a
 * {@link RecordContext} of the record. Without record listeners it only fills the record.
 */
public final class RecordLoad implements RecordContext {

    /** Sets a record's values. */
    @FunctionalInterface
    public interface Filling {
        void fill() throws SQLException;
    }

    private final Instant creationTime = Instant.now();
    private final Configuration configuration;
    private final Record record;
    private Map<Object, Object> data;
    private Exception exception;

    private RecordLoad(Configuration configuration, Record record) {
        this.configuration = configuration;
        this.record = record;
    }

    /**
     * Runs {@code filling} on {@code record} between the load events of {@code configuration}'s record listeners.
     *
     * @throws SQLException what {@code filling} throws, after the listeners were told of it
     */
    public static void load(Configuration configuration, Record record, Filling filling) throws SQLException {
        RecordListenerProvider[] providers = configuration.recordListenerProviders();
        if (providers.length == 0) {
            filling.fill();
            return;
        }
        RecordListener[] listeners = new RecordListener[providers.length];
        for (int i = 0; i < providers.length; i++) {
            listeners[i] = providers[i].provide();
        }
        RecordLoad context = new RecordLoad(configuration, record);
        for (RecordListener listener : listeners) {
            listener.loadStart(context);
        }
        try {
            filling.fill();
        } catch (SQLException | RuntimeException e) {
            context.exception = e;
            for (RecordListener listener : listeners) {
                listener.exception(context);
            }
        }
        // As jOOQ does: the end events come after a failure too, then the failure is thrown.
        boolean reverse = configuration.settings().getRecordListenerEndInvocationOrder() == InvocationOrder.REVERSE;
        for (int i = 0; i < listeners.length; i++) {
            listeners[reverse ? listeners.length - 1 - i : i].loadEnd(context);
        }
        if (context.exception instanceof SQLException e) {
            throw e;
        } else if (context.exception != null) {
            throw (RuntimeException) context.exception;
        }
    }

    @Override
    public ExecuteType type() {
        return ExecuteType.READ;
    }

    @Override
    public Record record() {
        return record;
    }

    @Override
    public RecordType<?> recordType() {
        return DSL.recordType(record.fields());
    }

    @Override
    public Record[] batchRecords() {
        return new Record[] {record};
    }

    @Override
    public Exception exception() {
        return exception;
    }

    @Override
    public Instant creationTime() {
        return creationTime;
    }

    @Override
    public Configuration configuration() {
        return configuration;
    }

    @Override
    public DSLContext dsl() {
        return configuration.dsl();
    }

    @Override
    public Settings settings() {
        return configuration.settings();
    }

    @Override
    public SQLDialect dialect() {
        return configuration.dialect();
    }

    @Override
    public SQLDialect family() {
        return configuration.family();
    }

    @Override
    public Map<Object, Object> data() {
        if (data == null) {
            data = new HashMap<>();
        }
        return data;
    }

    @Override
    public Object data(Object key) {
        return data == null ? null : data.get(key); // a read makes no map
    }

    @Override
    public Object data(Object key, Object value) {
        return data().put(key, value);
    }
}
