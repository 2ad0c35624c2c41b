package io.managedsession.internal;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Wrapper;

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
     * itself would keep working after the transaction ended, on a pooled connection that belongs to someone else.
     */
    static <T> T unwrap(Object guard, Wrapper physical, Class<T> iface, ConnectionGate gate) throws SQLException {
        if (iface.isInstance(guard)) {
            return iface.cast(guard);
        }
        gate.check();
        if (iface.isInterface() && physical.isWrapperFor(iface)) {
            T target = physical.unwrap(iface);
            InvocationHandler checked = (proxy, method, args) -> {
                if (method.getDeclaringClass() != Object.class) {
                    gate.check();
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
