package io.managedsession.support;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;

import javax.sql.DataSource;

/**
 * A DataSource that forwards every call to another, wrapping the connections and statements it hands out the same
 * way, and shows each call to an {@link Interceptor} first: what a user's tracing or counting layer around the driver
 * looks like to the library.
 */
public final class ForwardingJdbc {

    /** What {@link Interceptor#intercept} returns for a call that goes on to the object wrapped. */
    public static final Object FORWARD = new Object();

    /** Sees each call before it is forwarded, and may answer it instead. */
    @FunctionalInterface
    public interface Interceptor {
        /**
         * @return the call's answer, or {@link #FORWARD} to forward it
         * @throws Throwable what the call throws instead
         */
        Object intercept(Method method, Object[] args) throws Throwable;
    }

    private ForwardingJdbc() {
    }

    /** {@code real}, with every call of it and of its connections and statements shown to {@code interceptor}. */
    public static DataSource around(DataSource real, Interceptor interceptor) {
        return (DataSource) Proxy.newProxyInstance(ForwardingJdbc.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, forwarding(real, interceptor));
    }

    private static InvocationHandler forwarding(Object target, Interceptor interceptor) {
        return (proxy, method, args) -> {
            Object answer = interceptor.intercept(method, args);
            if (answer != FORWARD) {
                return answer;
            }
            Object result;
            try {
                result = method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            Class<?> type = method.getReturnType();
            if (result != null && type.isInterface() && (Connection.class.isAssignableFrom(type)
                    || Statement.class.isAssignableFrom(type))) {
                return Proxy.newProxyInstance(ForwardingJdbc.class.getClassLoader(), new Class<?>[] {type},
                        forwarding(result, interceptor));
            }
            return result;
        };
    }
}
