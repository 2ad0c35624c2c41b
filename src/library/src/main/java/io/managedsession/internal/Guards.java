package io.managedsession.internal;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Wrapper;

import org.postgresql.core.BaseConnection;
import org.postgresql.fastpath.Fastpath;

/**
 * What the guarded JDBC objects share: how {@code unwrap} answers without handing out a driver object that would
 * outlive the transaction, and the guarded {@link DatabaseMetaData}.
 */
final class Guards {

    private Guards() {
    }

    /**
     * {@code unwrap} of a guarded object: the guard itself when it is what was asked for; for an interface the
     * driver's object implements (say {@code org.postgresql.PGConnection}), a view of that object with only that
     * interface's methods, each of which passes the gate first; anything else is refused, since the driver's object
     * itself would keep working after the transaction ended, on a pooled connection that belongs to someone else. On
     * the view of a connection, JDBC's own methods are the guard's (so {@code BaseConnection.commit()} is refused as
     * {@code Connection.commit()} is), SQL given to the driver's {@code execSQL...} passes the SQL check, the
     * driver's setters, whose values would stay with the pooled connection, are refused, and the driver's COPY,
     * large-object and fast-path APIs are made on the guarded view.
     */
    static <T> T unwrap(Object guard, Wrapper physical, Class<T> iface, ConnectionGate gate) throws SQLException {
        if (iface.isInstance(guard)) {
            return iface.cast(guard);
        }
        gate.check();
        if (iface.isInterface() && physical.isWrapperFor(iface)) {
            T target = physical.unwrap(iface);
            boolean ofTheConnection = guard instanceof GuardedConnection;
            InvocationHandler checked = (proxy, method, args) -> {
                Class<?> declaring = method.getDeclaringClass();
                if (declaring == Object.class) {
                    return invoke(method, target, args);
                }
                if (declaring.isInstance(guard)) {
                    // A JDBC method reached through a driver interface that extends JDBC's own (the driver's
                    // BaseConnection is a Connection): the guard answers it, with its refusals.
                    return invoke(method, guard, args);
                }
                gate.check();
                if (ofTheConnection) {
                    Object onTheView = driverApiOnTheView(method, guard, physical, gate);
                    if (onTheView != null) {
                        return onTheView;
                    }
                    refuseDriverSetting(iface, method);
                    if (method.getName().startsWith("execSQL") && args != null && args[0] instanceof String sql) {
                        gate.beforeExecute(sql);
                    }
                }
                return invoke(method, target, args);
            };
            return iface.cast(Proxy.newProxyInstance(iface.getClassLoader(), new Class<?>[] {iface}, checked));
        }
        throw new SQLException("unwrap(" + iface.getName() + ") is refused on a connection managed by SessionManager:"
                + " the driver's own object would keep working after the transaction ended, on a pooled connection"
                + " that belongs to someone else by then. Unwrap to an interface instead (for example"
                + " org.postgresql.PGConnection), which is handed out guarded");
    }

    /**
     * The driver's APIs that {@code PGConnection} hands out (COPY, large objects, fast-path calls), made on the guarded
     * view instead of the physical connection, or {@code null} for any other method; a COPY's SQL also passes the gate
     * as a statement's does ({@link GuardedCopyManager}). The driver's own hold the physical connection and would keep
     * working on it after the transaction ended; these ask the guard on every call ({@code getAutoCommit()} before each
     * copy or fast-path call), so one kept too long is refused. The driver makes its large-object API once per
     * connection; this one is made once per transaction ({@link ConnectionGate#largeObjects}).
     */
    private static Object driverApiOnTheView(Method method, Object guard, Wrapper physical, ConnectionGate gate)
            throws SQLException {
        if (method.getParameterCount() != 0) {
            return null;
        }
        return switch (method.getName()) {
            case "getCopyAPI" -> new GuardedCopyManager(unwrap(guard, physical, BaseConnection.class, gate), gate);
            case "getLargeObjectAPI" -> gate.largeObjects(unwrap(guard, physical, BaseConnection.class, gate));
            case "getFastpathAPI" -> new Fastpath(unwrap(guard, physical, BaseConnection.class, gate));
            default -> null;
        };
    }

    /**
     * Refuses a setter of the driver's connection (say {@code PGConnection.setDefaultFetchSize}): the value stays with
     * the connection, so with the pool, and reaches every later transaction to get that connection.
     */
    private static void refuseDriverSetting(Class<?> iface, Method method) {
        String name = method.getName();
        if (!name.startsWith("set")) {
            return;
        }
        String instead = switch (name) {
            case "setDefaultFetchSize" -> "per statement with Statement.setFetchSize (jOOQ: fetchSize(...)), or for"
                    + " every connection with the JDBC URL's defaultRowFetchSize";
            case "setPrepareThreshold" -> "per statement with PGStatement.setPrepareThreshold, or for every"
                    + " connection with the JDBC URL's prepareThreshold";
            case "setQueryTimeout" -> "per statement with Statement.setQueryTimeout (jOOQ: queryTimeout(...)), or for"
                    + " the transaction with TransactionOptions' deadline";
            case "setAutosave" -> "for every connection with the JDBC URL's autosave";
            case "setAdaptiveFetch" -> "per statement with PGStatement.setAdaptiveFetch, or for every connection with"
                    + " the JDBC URL's adaptiveFetch";
            default -> "for every connection in the JDBC URL or the pool's data source properties";
        };
        throw driverStateRefused(iface.getSimpleName() + "." + name + "(...)", "set it " + instead);
    }

    /** The refusal of {@code call}, which would change the driver's connection for every later transaction. */
    static UnsupportedOperationException driverStateRefused(String call, String instead) {
        return new UnsupportedOperationException(call + " is not allowed on a connection managed by SessionManager:"
                + " it changes the driver's connection, which outlives the transaction in the pool and reaches every"
                + " later transaction to get it; " + instead);
    }

    /** {@code isWrapperFor} to match {@link #unwrap}: the guard's own types, and the driver's interfaces. */
    static boolean isWrapperFor(Object guard, Wrapper physical, Class<?> iface) throws SQLException {
        return iface.isInstance(guard) || (iface.isInterface() && physical.isWrapperFor(iface));
    }

    /**
     * The connection's metadata, guarded: each call passes the gate (metadata methods run queries on the
     * connection), {@code getConnection()} leads back to the guarded connection, and the result sets it returns lead
     * nowhere else.
     */
    static DatabaseMetaData metaData(DatabaseMetaData physical, GuardedConnection connection, ConnectionGate gate) {
        InvocationHandler guarded = (proxy, method, args) -> {
            switch (method.getName()) {
                case "getConnection" -> {
                    return connection;
                }
                case "unwrap" -> {
                    return unwrap(proxy, physical, (Class<?>) args[0], gate);
                }
                case "isWrapperFor" -> {
                    return isWrapperFor(proxy, physical, (Class<?>) args[0]);
                }
                default -> {
                    if (method.getDeclaringClass() != Object.class) {
                        gate.check();
                    }
                    Object result = invoke(method, physical, args);
                    return result instanceof ResultSet rows ? new GuardedResultSet(rows, null, gate) : result;
                }
            }
        };
        return (DatabaseMetaData) Proxy.newProxyInstance(DatabaseMetaData.class.getClassLoader(),
                new Class<?>[] {DatabaseMetaData.class}, guarded);
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
