package io.managedsession;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.jooq.Asterisk;
import org.jooq.BatchBindStep;
import org.jooq.Configuration;
import org.jooq.ConnectionProvider;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.QualifiedAsterisk;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.RecordListenerProvider;
import org.jooq.RecordMapper;
import org.jooq.Result;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.Select;
import org.jooq.TableRecord;
import org.jooq.VisitListenerProvider;
import org.jooq.conf.DiagnosticsConnection;
import org.jooq.conf.Settings;
import org.jooq.conf.SettingsTools;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.NoDataFoundException;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.tools.JooqLogger;
import org.jooq.tools.LoggerListener;

import io.managedsession.internal.JdbcValues;
import io.managedsession.internal.RecordLoad;
import io.managedsession.internal.RenderedStatement;

/**
 * A statement written once with jOOQ's DSL and generated classes, rendered once per dialect and settings, and then
 * executed with only binding and fetching: typed SQL at the speed of a JDBC prepared statement.
 *
 * <pre>{@code
 * static final Param<Long> ID = DSL.param("id", ACCOUNTS.AID);
 * static final PreparedQuery<Record1<Long>> BALANCE = PreparedQuery.of(
 *         DSL.select(ACCOUNTS.ABALANCE).from(ACCOUNTS).where(ACCOUNTS.AID.eq(ID)), "id");
 *
 * long balance = BALANCE.fetchOne(ctx, 42L).value1();
 * }</pre>
 *
 * <p>Values reach the statement only as named parameters ({@code DSL.param(name, type)}), bound, never spliced into
 * the SQL; each call's arguments are checked against the parameters' types. A query that cannot be rendered once for
 * all calls is refused when declared: a bind value without a name (a value captured when the query was built, which
 * would be the same for every call), a parameter jOOQ renders inline, a type it cannot bind (below). Constants are
 * written {@code DSL.inline(value)}. Dynamic SQL, whose shape depends on the call, stays with the DSL; a list of
 * values can be one array parameter ({@code ID.eq(DSL.any(DSL.param("ids", SQLDataType.BIGINT.array())))}), which
 * keeps the statement's shape. Results are read by position into the columns the query declares, so a query whose
 * columns jOOQ does not know when it is declared (a table known only by its name, plain SQL not coerced to fields) or
 * that selects {@code *} is refused too, and a result of another width fails the call.
 *
 * <p>jOOQ renders the SQL (with the dialect and {@code Settings} of the {@code DSLContext} it is first used with, and
 * again for other ones); execution goes to the context's connection provider, so inside a SessionManager transaction
 * it runs on the transaction's connection, under the same checks as the DSL (its thread, its deadline), and with any
 * other {@code DSLContext} on the connection that context would use. It skips jOOQ's execution machinery, and reads
 * results with the driver's getters, converted by the fields' converters, into the query's record type. Besides the
 * types the driver maps itself ({@code java.time}'s and JDBC's own date and time types among them) and
 * {@code BigInteger} it binds and reads jOOQ's enums ({@code EnumType}), {@code JSON} and {@code JSONB},
 * intervals ({@code DayToSecond}, {@code YearToMonth}, {@code YearToSecond}), and one-dimensional arrays of numbers,
 * text, booleans, uuids, dates and times, enums and JSON, as jOOQ's bindings do; a parameter or column of any other
 * type (a user {@code Binding}, XML, arrays of arrays or of intervals) is refused when declared: use the DSL for that
 * statement. When
 * the context has {@code ExecuteListener}s, jOOQ's own logging is at DEBUG or its diagnostics watch every connection
 * ({@code Settings.diagnosticsConnection} ON), the rendered SQL runs through jOOQ as a
 * plain SQL query, its values bound with the parameters' data types, so that listeners and the log see it as they
 * see the DSL's statements; that costs more than the DSL's own execution (jOOQ reads the SQL as a template on every
 * call), not less. On a context with {@code VisitListener}s, which may render the SQL differently on every call (a
 * schema of the caller's, a tenant's filter), it is refused: use the DSL there.
 *
 * <p>{@link #executeBatch} runs a statement for many rows of arguments at once, as one JDBC batch.
 *
 * <p>Immutable and safe to share between threads: keep instances in static fields.
 *
 * @param <R> the record type of the rows it returns ({@link Record} for a statement returning none)
 */
public final class PreparedQuery<R extends Record> {

    /**
     * The most dialect and settings instances one statement keeps, rendered or known to equal a rendered one; beyond
     * them it compares settings, or renders, on each call.
     */
    private static final int MAX_RENDERINGS = 8;

    /** The logger of jOOQ's {@code LoggerListener}: jOOQ logs each statement through it when it is at DEBUG. */
    private static final JooqLogger JOOQ_EXECUTE_LOG = JooqLogger.getLogger(LoggerListener.class);

    /** Makes the records of queries without a record class of their own: a context without record listeners. */
    private static final DSLContext RECORDS = DSL.using(SQLDialect.POSTGRES);

    private final Query query;
    private final String description;
    private final List<String> parameterNames;
    private final DataType<?>[] argumentTypes;
    private final Field<?>[] fields;
    private final MethodHandle recordConstructor;
    private volatile Rendering[] renderings = new Rendering[0];

    /**
     * @param settings the instance it was rendered for, matched by identity: every transaction of a SessionManager
     *                 shares its manager's, which never changes
     * @param snapshot a copy of it, matched by equality: jOOQ copies its Settings whenever it derives a configuration
     */
    private record Rendering(SQLDialect dialect, Settings settings, Settings snapshot, RenderedStatement statement) {
    }

    private PreparedQuery(Query query, List<String> parameterNames, Field<?>[] fields, Class<?> recordType) {
        this.query = query;
        this.parameterNames = parameterNames;
        this.description = "Prepared query [" + DSL.using(SQLDialect.POSTGRES).render(query) + "]";
        RenderedStatement declared = RenderedStatement.render(query, description, parameterNames,
                new DefaultConfiguration().set(SQLDialect.POSTGRES));
        this.argumentTypes = declared.argumentTypes(parameterNames.size());
        this.fields = fields;
        if (fields != null) {
            if (fields.length == 0) {
                throw new IllegalArgumentException(description + " returns rows, but its columns are not known when"
                        + " it is declared (a table known only by its name, DSL.table(name), or plain SQL): a prepared"
                        + " query reads the columns it declares, so name them: generated classes, select(field, ..),"
                        + " or coerce(field, ..) on plain SQL");
            }
            if (selectsAsterisk(query)) {
                throw new IllegalArgumentException(description + " selects *, whose columns are the table's when it"
                        + " runs, where a prepared query reads those it declares, by position: a column added or"
                        + " dropped would shift every one after it. Name them: select(T.fields()), or selectFrom(T)"
                        + " with a generated T");
            }
            for (Field<?> field : fields) {
                String unsupported = JdbcValues.unsupported(field.getDataType());
                if (unsupported != null) {
                    throw new IllegalArgumentException(description + ": column " + field.getName() + " cannot be read"
                            + " by a prepared query: " + unsupported + "; use the DSL for this statement");
                }
            }
        }
        this.recordConstructor = recordType != null && TableRecord.class.isAssignableFrom(recordType)
                ? constructorOf(recordType) : null;
    }

    /**
     * Whether the query's select list has a {@code *}, read from jOOQ's query object model ({@code $select()},
     * experimental in jOOQ 3.21: should it change, the width check of each result still stands behind this).
     */
    private static boolean selectsAsterisk(Query query) {
        return query instanceof Select<?> select && select.$select().stream()
                .anyMatch(column -> column instanceof Asterisk || column instanceof QualifiedAsterisk);
    }

    /**
     * Declares a statement that returns rows.
     *
     * @param query          the query, with a {@code DSL.param(name, type)} for every value that varies
     * @param parameterNames the names of its parameters, in the order calls give their arguments; each exactly once
     * @param <R>            its record type
     * @return the statement
     * @throws IllegalArgumentException when the query cannot be prepared once for all calls (see the class comment)
     */
    public static <R extends Record> PreparedQuery<R> of(ResultQuery<R> query, String... parameterNames) {
        Objects.requireNonNull(query, "query");
        return new PreparedQuery<>(query, names(parameterNames), query.fields(), query.getRecordType());
    }

    /**
     * Declares a statement that returns no rows: an {@code INSERT}, {@code UPDATE} or {@code DELETE} without
     * {@code RETURNING}.
     *
     * @param query          the statement, with a {@code DSL.param(name, type)} for every value that varies
     * @param parameterNames the names of its parameters, in the order calls give their arguments; each exactly once
     * @return the statement
     * @throws IllegalArgumentException when the query cannot be prepared once for all calls (see the class comment)
     */
    public static PreparedQuery<Record> of(Query query, String... parameterNames) {
        Objects.requireNonNull(query, "query");
        if (query instanceof ResultQuery<?> rows) {
            return new PreparedQuery<>(query, names(parameterNames), rows.fields(), rows.getRecordType());
        }
        return new PreparedQuery<>(query, names(parameterNames), null, null);
    }

    private static List<String> names(String... parameterNames) {
        List<String> names = List.of(parameterNames);
        if (names.size() != names.stream().distinct().count()) {
            throw new IllegalArgumentException("Parameter names must be distinct, but are " + names);
        }
        return names;
    }

    private static MethodHandle constructorOf(Class<?> recordType) {
        try {
            return MethodHandles.publicLookup().findConstructor(recordType, MethodType.methodType(void.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("Record type " + recordType.getName() + " has no public constructor"
                    + " without arguments, which generated records have", e);
        }
    }

    /** The names of its parameters, in the order calls give their arguments. */
    public List<String> parameterNames() {
        return parameterNames;
    }

    /** The SQL it runs with {@code ctx}'s dialect and settings, rendered on first use. */
    public String sql(DSLContext ctx) {
        return rendered(ctx.configuration()).sql();
    }

    /**
     * Runs the statement.
     *
     * @param ctx       where it runs: a transaction's {@code DSLContext}, or any other
     * @param arguments one per parameter, in {@link #parameterNames()} order, of the parameters' types
     * @return the number of rows it changed (or returned)
     * @throws IllegalArgumentException when the arguments do not fit the parameters
     * @throws DataAccessException      when the database refuses it
     */
    public int execute(DSLContext ctx, Object... arguments) {
        arguments = oneArrayArgument(arguments);
        RenderedStatement statement = prepare(ctx, arguments);
        if (listened(ctx.configuration())) {
            Object[] binds = binds(statement, arguments);
            return fields == null ? ctx.query(statement.sql(), binds).execute()
                    : ctx.resultQuery(statement.sql(), binds).execute();
        }
        return run(ctx, statement, arguments, PreparedStatement::executeUpdate);
    }

    /**
     * Runs the statement once for each row of arguments, all of them on one prepared statement sent to the server as
     * one JDBC batch: many rows at once (an import, the lines of an order) without a round trip each. Every row is
     * checked against the parameters before anything is sent. A row the database refuses fails the call with the
     * server's error; inside a transaction that rolls the transaction back, so nothing of the batch stays. An empty
     * collection sends nothing. Where {@code ExecuteListener}s watch, it runs as one jOOQ batch, which they see as
     * they see {@code DSLContext.batch(..)}.
     *
     * @param ctx          where it runs
     * @param argumentRows the arguments of each run, each row as {@link #execute} takes them
     * @return for each row, in order, the number of rows it changed ({@code Statement.SUCCESS_NO_INFO} for the rows
     *         the driver sent as part of a multi-row INSERT, as pgjdbc's {@code reWriteBatchedInserts} does)
     * @throws IllegalArgumentException when a row does not fit the parameters, naming its index
     * @throws IllegalStateException    when the statement returns rows: a batch runs statements that return none
     * @throws DataAccessException      when the database refuses a row
     */
    public int[] executeBatch(DSLContext ctx, Collection<? extends Object[]> argumentRows) {
        Objects.requireNonNull(argumentRows, "argumentRows");
        if (fields != null) {
            throw new IllegalStateException(description + " returns rows, which a batch cannot return; run it row by"
                    + " row with fetch(...), or one statement with an array parameter");
        }
        Object[][] rows = argumentRows.toArray(new Object[0][]);
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] == null) {
                throw new IllegalArgumentException(description + ": argument row " + i + " is null");
            }
            rows[i] = oneArrayArgument(rows[i]);
            check(rows[i], ": argument row " + i);
        }
        if (rows.length == 0) {
            return new int[0];
        }
        RenderedStatement statement = rendered(ctx.configuration());
        if (listened(ctx.configuration())) {
            BatchBindStep batch = ctx.batch(ctx.query(statement.sql(), binds(statement, rows[0])));
            for (Object[] row : rows) {
                batch = batch.bind(valuesInOrder(statement, row));
            }
            return batch.execute();
        }
        return run(ctx, statement, null, prepared -> {
            for (Object[] row : rows) {
                bind(prepared, statement, row);
                prepared.addBatch();
            }
            return prepared.executeBatch();
        });
    }

    /**
     * Runs the query and returns its rows as records of its type.
     *
     * @param ctx       where it runs
     * @param arguments one per parameter, in {@link #parameterNames()} order
     * @return the rows, in the order the database returned them
     */
    public List<R> fetch(DSLContext ctx, Object... arguments) {
        return fetch(ctx, record -> record, arguments);
    }

    /**
     * Runs the query and maps each row.
     *
     * @param ctx       where it runs
     * @param mapper    what each row becomes
     * @param arguments one per parameter, in {@link #parameterNames()} order
     * @param <E>       what the rows become
     * @return the mapped rows, in the order the database returned them
     */
    public <E> List<E> fetch(DSLContext ctx, RecordMapper<? super R, E> mapper, Object... arguments) {
        requireRows();
        arguments = oneArrayArgument(arguments);
        RenderedStatement rendered = prepare(ctx, arguments);
        if (listened(ctx.configuration())) {
            List<E> mapped = new ArrayList<>();
            for (Record row : fetchThroughJooq(ctx, rendered, arguments, 0)) {
                mapped.add(mapper.map(record(ctx, row)));
            }
            return mapped;
        }
        return run(ctx, rendered, arguments, statement -> {
            try (ResultSet rows = statement.executeQuery()) {
                requireDeclaredColumns(rows.getMetaData().getColumnCount());
                List<E> mapped = new ArrayList<>();
                while (rows.next()) {
                    mapped.add(mapper.map(record(ctx, rows)));
                }
                return mapped;
            }
        });
    }

    /**
     * Runs the query and returns its only row.
     *
     * @return the row, or {@code null} when there is none
     * @throws TooManyRowsException when there is more than one
     */
    public R fetchOne(DSLContext ctx, Object... arguments) {
        requireRows();
        arguments = oneArrayArgument(arguments);
        RenderedStatement rendered = prepare(ctx, arguments);
        if (listened(ctx.configuration())) {
            Result<Record> rows = fetchThroughJooq(ctx, rendered, arguments, rowsForOne(ctx.settings()));
            if (rows.size() > 1) {
                throw new TooManyRowsException(description + " returned more than one row");
            }
            return rows.isEmpty() ? null : record(ctx, rows.get(0));
        }
        return run(ctx, rendered, arguments, statement -> {
            statement.setMaxRows(rowsForOne(ctx.settings()));
            try (ResultSet rows = statement.executeQuery()) {
                requireDeclaredColumns(rows.getMetaData().getColumnCount());
                if (!rows.next()) {
                    return null;
                }
                R record = record(ctx, rows);
                if (rows.next()) {
                    throw new TooManyRowsException(description + " returned more than one row");
                }
                return record;
            }
        });
    }

    /** {@link #fetchOne}, empty when there is no row. */
    public Optional<R> fetchOptional(DSLContext ctx, Object... arguments) {
        return Optional.ofNullable(fetchOne(ctx, arguments));
    }

    /**
     * Runs the query and returns its one row, which must be there, as jOOQ's {@code fetchSingle} does.
     *
     * @return the row
     * @throws NoDataFoundException when there is none
     * @throws TooManyRowsException when there is more than one
     */
    public R fetchSingle(DSLContext ctx, Object... arguments) {
        R record = fetchOne(ctx, arguments);
        if (record == null) {
            throw new NoDataFoundException(description + " returned no row");
        }
        return record;
    }

    private void requireRows() {
        if (fields == null) {
            throw new IllegalStateException(description + " returns no rows; run it with execute(...)");
        }
    }

    /**
     * A row read from the driver into the query's record type, its values converted by the fields' converters, with
     * the load events of the context's record listeners, as jOOQ fetches a record.
     */
    @SuppressWarnings("unchecked")
    private R record(DSLContext ctx, ResultSet row) throws SQLException {
        Record record = newRecord(ctx);
        if (ctx.configuration().recordListenerProviders().length == 0) {
            fill(record, row, ctx.settings()); // no load events to fire, and no lambda to allocate per row
        } else {
            RecordLoad.load(ctx.configuration(), record, () -> fill(record, row, ctx.settings()));
        }
        return (R) record;
    }

    private void fill(Record record, ResultSet row, Settings settings) throws SQLException {
        for (int i = 0; i < fields.length; i++) {
            set(record, fields[i], JdbcValues.read(row, i + 1, fields[i].getDataType(), settings));
        }
        record.touched(false);
    }

    /**
     * A row jOOQ fetched (already converted by the fields it was coerced to, without record listeners) as the query's
     * record type, with the load events of the context's record listeners.
     */
    @SuppressWarnings("unchecked")
    private R record(DSLContext ctx, Record row) {
        Record record = newRecord(ctx);
        try {
            RecordLoad.load(ctx.configuration(), record, () -> {
                for (int i = 0; i < fields.length; i++) {
                    set(record, fields[i], row.get(i));
                }
                record.touched(false);
            });
        } catch (SQLException e) {
            throw new DataAccessException(description + ": could not read a row", e); // setting values throws none
        }
        return (R) record;
    }

    /** An empty record of the query's type attached to {@code ctx}, made without firing load events yet. */
    private Record newRecord(DSLContext ctx) {
        Record record;
        if (recordConstructor != null) {
            try {
                record = (Record) recordConstructor.invoke();
            } catch (Throwable e) {
                throw new IllegalStateException("Could not create a " + recordConstructor.type().returnType()
                        + " for " + description, e);
            }
        } else {
            // A context's newRecord fires its record listeners' load events on the empty record; this one has none.
            record = RECORDS.newRecord(fields);
        }
        record.attach(ctx.configuration());
        return record;
    }

    @SuppressWarnings("unchecked")
    private static <T> void set(Record record, Field<T> field, Object value) {
        record.set(field, (T) value);
    }

    /**
     * The statement limits jOOQ sets from the settings on each statement it runs: the query timeout, and for a query
     * returning rows the maximum number of rows and the fetch size.
     */
    private void applyLimits(PreparedStatement prepared, Settings settings) throws SQLException {
        int queryTimeout = SettingsTools.getQueryTimeout(0, settings);
        if (queryTimeout > 0) {
            prepared.setQueryTimeout(queryTimeout);
        }
        if (fields != null) {
            int maxRows = SettingsTools.getMaxRows(0, settings);
            if (maxRows > 0) {
                prepared.setMaxRows(maxRows);
            }
            int fetchSize = SettingsTools.getFetchSize(0, settings);
            if (fetchSize != 0) {
                prepared.setFetchSize(fetchSize);
            }
        }
    }

    /** The rows {@link #fetchOne} reads: two, to see a second, unless the settings allow fewer. */
    private static int rowsForOne(Settings settings) {
        int maxRows = SettingsTools.getMaxRows(0, settings);
        return maxRows > 0 ? Math.min(maxRows, 2) : 2;
    }

    @FunctionalInterface
    private interface StatementWork<T> {
        T run(PreparedStatement statement) throws SQLException;
    }

    /** Checks the call's arguments and finds (or renders) the statement for {@code ctx}. */
    private RenderedStatement prepare(DSLContext ctx, Object[] arguments) {
        check(arguments);
        return rendered(ctx.configuration());
    }

    /**
     * Whether jOOQ would call an {@code ExecuteListener} for a statement run with {@code configuration}: one of the
     * configuration's own, or jOOQ's logging (on unless the settings turn it off, and logging only at DEBUG); or
     * whether its diagnostics would watch the statement's connection ({@code Settings.diagnosticsConnection} ON, with
     * which jOOQ wraps every connection it works with for its {@code DiagnosticsListener}s and diagnostics log: an
     * N+1 detector must see a hot statement run in a loop). Then the statement runs through jOOQ, so that they see it
     * as they see the DSL's; otherwise straight on the connection.
     */
    private static boolean listened(Configuration configuration) {
        Settings settings = configuration.settings();
        return configuration.executeListenerProviders().length > 0
                || settings.getDiagnosticsConnection() == DiagnosticsConnection.ON
                || !Boolean.FALSE.equals(settings.isExecuteLogging()) && JOOQ_EXECUTE_LOG.isDebugEnabled();
    }

    /**
     * Fails when the server's result has another number of columns than the query reads: plain SQL coerced to fields
     * that do not match it, read by position, would put one column's value in another's field.
     */
    private void requireDeclaredColumns(int columns) {
        if (columns != fields.length) {
            throw new IllegalStateException(description + " returned " + columns + " columns, but it reads "
                    + fields.length + " (" + String.join(", ", Arrays.stream(fields).map(Field::getName).toList())
                    + ")");
        }
    }

    /** The rows of {@link #throughJooq}, at most {@code maxRows} (0: all), once their width is checked. */
    private Result<Record> fetchThroughJooq(DSLContext ctx, RenderedStatement statement, Object[] arguments,
            int maxRows) {
        try (Cursor<Record> rows = throughJooq(ctx, statement, arguments).maxRows(maxRows).fetchLazy()) {
            requireDeclaredColumns(rows.resultSet().getMetaData().getColumnCount());
            return rows.fetch();
        } catch (SQLException e) {
            throw new DataAccessException(description + ": could not read its result's columns", e);
        }
    }

    /**
     * The rendered SQL as a jOOQ query of its own, each placeholder bound with its parameter's data type; run without
     * the context's record listeners, whose load events come with the records made of its rows.
     */
    private ResultQuery<Record> throughJooq(DSLContext ctx, RenderedStatement statement, Object[] arguments) {
        DSLContext running = ctx.configuration().recordListenerProviders().length == 0 ? ctx
                : DSL.using(ctx.configuration().derive(new RecordListenerProvider[0]));
        return running.resultQuery(statement.sql(), binds(statement, arguments)).coerce(fields);
    }

    /** The call's arguments in the order of the statement's placeholders, as jOOQ's batch binds them. */
    private static Object[] valuesInOrder(RenderedStatement statement, Object[] arguments) {
        int[] argumentOf = statement.argumentOf();
        Object[] values = new Object[argumentOf.length];
        for (int i = 0; i < argumentOf.length; i++) {
            values[i] = arguments[argumentOf[i]];
        }
        return values;
    }

    private static Object[] binds(RenderedStatement statement, Object[] arguments) {
        int[] argumentOf = statement.argumentOf();
        DataType<?>[] typeOf = statement.typeOf();
        Object[] binds = new Object[argumentOf.length];
        for (int i = 0; i < argumentOf.length; i++) {
            binds[i] = DSL.val(arguments[argumentOf[i]], typeOf[i]);
        }
        return binds;
    }

    private <T> T run(DSLContext ctx, RenderedStatement statement, Object[] arguments, StatementWork<T> work) {
        Configuration configuration = ctx.configuration();
        ConnectionProvider provider = configuration.connectionProvider();
        Connection connection = provider.acquire();
        try (PreparedStatement prepared = connection.prepareStatement(statement.sql())) {
            if (arguments != null) {
                bind(prepared, statement, arguments);
            }
            applyLimits(prepared, configuration.settings());
            return work.run(prepared);
        } catch (SQLException e) {
            throw new DataAccessException("SQL [" + statement.sql() + "]; " + e.getMessage(), e);
        } finally {
            provider.release(connection);
        }
    }

    private static void bind(PreparedStatement prepared, RenderedStatement statement, Object[] arguments)
            throws SQLException {
        int[] argumentOf = statement.argumentOf();
        DataType<?>[] typeOf = statement.typeOf();
        for (int i = 0; i < argumentOf.length; i++) {
            JdbcValues.bind(prepared, i + 1, typeOf[i], arguments[argumentOf[i]]);
        }
    }

    /**
     * The arguments of a call, {@code given} as Java passed them: an array given as the only argument of a statement
     * whose only parameter takes that array arrives as the varargs array itself, and is that one argument.
     */
    private Object[] oneArrayArgument(Object[] given) {
        if (argumentTypes.length == 1 && given.getClass() != Object[].class
                && argumentTypes[0].getType().isInstance(given)) {
            return new Object[] {given};
        }
        return given;
    }

    private void check(Object[] arguments) {
        check(arguments, "");
    }

    /** Checks one call's arguments; {@code row} says which row of a batch they are, after the description. */
    private void check(Object[] arguments, String row) {
        if (arguments.length != argumentTypes.length) {
            throw new IllegalArgumentException(description + row + " takes " + argumentTypes.length + " arguments "
                    + parameterNames + ", but was given " + arguments.length);
        }
        for (int i = 0; i < arguments.length; i++) {
            Object argument = arguments[i];
            Class<?> expected = argumentTypes[i].getType();
            if (argument != null && !expected.isInstance(argument)) {
                throw new IllegalArgumentException(description + row + ": parameter '" + parameterNames.get(i)
                        + "' takes " + expected.getTypeName() + ", but was given a "
                        + argument.getClass().getTypeName());
            }
        }
    }

    /**
     * The statement rendered for {@code configuration}'s dialect and settings: looked up, or rendered once.
     *
     * @throws IllegalStateException when the configuration has {@code VisitListener}s: they may change the SQL on
     *                               every rendering (a schema of the caller's, a tenant's filter), which a statement
     *                               rendered once would silently leave out or take from another context
     */
    private RenderedStatement rendered(Configuration configuration) {
        VisitListenerProvider[] visitors = configuration.visitListenerProviders();
        if (visitors.length > 0) {
            throw new IllegalStateException(description + " cannot run on a DSLContext with VisitListeners ("
                    + Arrays.stream(visitors).map(v -> v.provide().getClass().getName()).distinct().toList()
                    + "): they may render its SQL differently on every call, and a prepared query is rendered once"
                    + " for all of them; use the DSL on this context");
        }
        SQLDialect dialect = configuration.dialect();
        Settings settings = configuration.settings();
        Rendering[] known = renderings;
        for (Rendering r : known) {
            if (r.dialect == dialect && r.settings == settings) {
                return r.statement;
            }
        }
        // jOOQ gives Settings an empty render mapping when it first renders with them (SettingsTools.getRenderMapping),
        // and equals tells that from none: without doing the same here first, settings jOOQ has not rendered with yet
        // (a new DSLContext per request, one derived with a listener per call) never equalled a snapshot, and every
        // call rendered the statement again.
        SettingsTools.getRenderMapping(settings);
        for (Rendering r : known) {
            if (r.dialect == dialect && r.snapshot.equals(settings)) {
                if (known.length < MAX_RENDERINGS) {
                    remember(r, settings);
                }
                return r.statement;
            }
        }
        return renderFor(configuration, dialect, settings);
    }

    /**
     * Lets the next lookup find {@code rendering} by the identity of {@code settings}, equal to the ones it was
     * rendered for but another instance (another manager's, or a DSLContext of the user's): comparing two
     * {@code Settings}, some two hundred fields, on every call cost more than binding saves. Within the same bound as
     * renderings; beyond it, lookups go on comparing.
     */
    private synchronized void remember(Rendering rendering, Settings settings) {
        for (Rendering r : renderings) {
            if (r.dialect == rendering.dialect && r.settings == settings) {
                return;
            }
        }
        keep(new Rendering(rendering.dialect, settings, rendering.snapshot, rendering.statement));
    }

    private synchronized RenderedStatement renderFor(Configuration configuration, SQLDialect dialect,
            Settings settings) {
        RenderedStatement statement = RenderedStatement.render(query, description, parameterNames, configuration);
        keep(new Rendering(dialect, settings, SettingsTools.clone(settings), statement));
        return statement;
    }

    /** Adds {@code rendering} for later lookups while there is room; callers hold this object's lock. */
    private void keep(Rendering rendering) {
        Rendering[] known = renderings;
        if (known.length < MAX_RENDERINGS) {
            Rendering[] more = Arrays.copyOf(known, known.length + 1);
            more[known.length] = rendering;
            renderings = more;
        }
    }

    @Override
    public String toString() {
        return description;
    }
}
