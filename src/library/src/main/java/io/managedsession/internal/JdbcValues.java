package io.managedsession.internal;

import java.math.BigDecimal;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.util.Set;
import java.util.UUID;

import org.jooq.Converter;
import org.jooq.DataType;

/**
 * Binds a value of a jOOQ {@link DataType} to a JDBC statement, and reads one from a result set, without jOOQ's
 * execution machinery: through the data type's converter, then the PostgreSQL driver's own setter or getter for the
 * database type. Only the types the driver maps itself are taken ({@link #supports}); anything that needs one of
 * jOOQ's bindings (enums, JSON, arrays, user bindings) is left to the DSL.
 */
public final class JdbcValues {

    /** Database types the driver binds and reads as they are. */
    private static final Set<Class<?>> NATIVE = Set.of(Long.class, Integer.class, Short.class, String.class,
            BigDecimal.class, Boolean.class, Double.class, Float.class, byte[].class, UUID.class, LocalDate.class,
            LocalTime.class, LocalDateTime.class, OffsetDateTime.class, OffsetTime.class);

    private JdbcValues() {
    }

    /**
     * Why {@code type} cannot be bound or read here, or {@code null} when it can: its database type must be one the
     * driver maps itself, and its binding jOOQ's default one (a converter on top is fine).
     */
    public static String unsupported(DataType<?> type) {
        Class<?> database = type.getConverter().fromType();
        if (!NATIVE.contains(database)) {
            return "its database type " + database.getName() + " is not one the driver maps itself (" + supportedNames()
                    + ")";
        }
        if (!type.getBinding().getClass().getName().startsWith("org.jooq.impl.DefaultBinding")) {
            return "it has a binding of its own (" + type.getBinding().getClass().getName() + ")";
        }
        return null;
    }

    /** Whether {@link #unsupported} finds nothing wrong with {@code type}. */
    public static boolean supports(DataType<?> type) {
        return unsupported(type) == null;
    }

    private static String supportedNames() {
        return NATIVE.stream().map(Class::getSimpleName).sorted().reduce((a, b) -> a + ", " + b).orElse("");
    }

    /** Binds {@code userValue}, of {@code type}'s user type, as parameter {@code index}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void bind(PreparedStatement statement, int index, DataType<?> type, Object userValue)
            throws SQLException {
        Object value = ((Converter) type.getConverter()).to(userValue);
        switch (value) {
            case null -> statement.setNull(index, type.getSQLType());
            case Long l -> statement.setLong(index, l);
            case Integer i -> statement.setInt(index, i);
            case String s -> statement.setString(index, s);
            case BigDecimal d -> statement.setBigDecimal(index, d);
            case Short s -> statement.setShort(index, s);
            case Boolean b -> statement.setBoolean(index, b);
            case Double d -> statement.setDouble(index, d);
            case Float f -> statement.setFloat(index, f);
            case byte[] bytes -> statement.setBytes(index, bytes);
            default -> statement.setObject(index, value);
        }
    }

    /** Reads column {@code index} as {@code type}'s user type. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Object read(ResultSet row, int index, DataType<?> type) throws SQLException {
        Converter converter = type.getConverter();
        Class<?> database = converter.fromType();
        Object value;
        if (database == Long.class) {
            long l = row.getLong(index);
            value = row.wasNull() ? null : l;
        } else if (database == Integer.class) {
            int i = row.getInt(index);
            value = row.wasNull() ? null : i;
        } else if (database == String.class) {
            value = row.getString(index);
        } else if (database == BigDecimal.class) {
            value = row.getBigDecimal(index);
        } else if (database == byte[].class) {
            value = row.getBytes(index);
        } else {
            value = row.getObject(index, database);
        }
        return converter.from(value);
    }
}
