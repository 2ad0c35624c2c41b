package io.managedsession.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jooq.Configuration;
import org.jooq.DataType;
import org.jooq.Param;
import org.jooq.Query;
import org.jooq.QueryPart;
import org.jooq.RenderContext;
import org.jooq.VisitListener;
import org.jooq.conf.ParamType;
import org.jooq.conf.StatementType;

/**
 * A jOOQ query rendered once for one dialect and set of settings: its SQL with {@code ?} placeholders, and for each
 * placeholder the argument it takes and that argument's data type.
 *
 * <p>jOOQ renders it (with indexed parameters and prepared statements, whatever the settings say otherwise), and a
 * {@link VisitListener} notes the parameters in the order jOOQ renders them; the count is checked against jOOQ's own
 * list of bind values, so a parameter that jOOQ inlined or rendered twice is caught rather than misbound.
 *
 * @param sql           the SQL, with a {@code ?} per bind value
 * @param argumentOf    for each placeholder, the index of the argument bound to it
 * @param typeOf        for each placeholder, the data type its argument is bound with
 */
public record RenderedStatement(String sql, int[] argumentOf, DataType<?>[] typeOf) {

    /**
     * Renders {@code query} with {@code configuration}'s dialect and settings.
     *
     * @param description    how messages name the statement
     * @param parameterNames the statement's parameters, in the order its arguments are given
     * @throws IllegalArgumentException when the query cannot be prepared once for all calls: a bind value without a
     *                                  name (a value baked into the declaration), a parameter rendered inline, a
     *                                  parameter missing from the list or listed but unused, one name with two types,
     *                                  or a type the driver does not bind itself
     */
    public static RenderedStatement render(Query query, String description, List<String> parameterNames,
            Configuration configuration) {
        List<Param<?>> seen = new ArrayList<>();
        List<String> inlined = new ArrayList<>();
        VisitListener recorder = VisitListener.onVisitStart(context -> {
            QueryPart part = context.queryPart();
            RenderContext render = context.renderContext();
            if (part instanceof Param<?> param && render != null) {
                if (param.isInline() || render.paramType() == ParamType.INLINED) {
                    if (param.getParamName() != null && !param.isInline()) {
                        inlined.add(param.getParamName());
                    }
                } else {
                    seen.add(param);
                }
            }
        });
        Configuration rendering = configuration
                .deriveSettings(s -> s.withParamType(ParamType.INDEXED)
                        .withStatementType(StatementType.PREPARED_STATEMENT))
                .deriveAppending(recorder);
        String sql = rendering.dsl().render(query);
        if (!inlined.isEmpty()) {
            throw new IllegalArgumentException(description + ": jOOQ renders parameter '" + inlined.get(0)
                    + "' inline in this position, so its value would be part of the SQL; a prepared query needs"
                    + " every parameter bound");
        }
        int bindValues = configuration.dsl().extractBindValues(query).size();
        if (bindValues != seen.size()) {
            throw new IllegalArgumentException(description + ": jOOQ binds " + bindValues + " values but "
                    + seen.size() + " parameters were rendered; this statement's shape cannot be prepared once");
        }
        Map<String, DataType<?>> types = new LinkedHashMap<>();
        int[] argumentOf = new int[seen.size()];
        DataType<?>[] typeOf = new DataType<?>[seen.size()];
        for (int i = 0; i < seen.size(); i++) {
            Param<?> param = seen.get(i);
            String name = param.getParamName();
            if (name == null) {
                throw new IllegalArgumentException(description + ": bind value number " + (i + 1) + " (of type "
                        + param.getType().getName() + ") has no name. A prepared query binds only named parameters,"
                        + " DSL.param(name, type), so that no call's value is baked into the statement; write"
                        + " DSL.inline(value) for a constant");
            }
            int argument = parameterNames.indexOf(name);
            if (argument < 0) {
                throw new IllegalArgumentException(description + " uses parameter '" + name + "', which is not among"
                        + " its parameters " + parameterNames);
            }
            DataType<?> type = param.getDataType();
            DataType<?> earlier = types.putIfAbsent(name, type);
            if (earlier != null && !earlier.getType().equals(type.getType())) {
                throw new IllegalArgumentException(description + " uses parameter '" + name + "' with two types, "
                        + earlier.getType().getName() + " and " + type.getType().getName());
            }
            String unsupported = JdbcValues.unsupported(type);
            if (unsupported != null) {
                throw new IllegalArgumentException(description + ": parameter '" + name + "' cannot be bound by a"
                        + " prepared query: " + unsupported + "; use the DSL for this statement");
            }
            argumentOf[i] = argument;
            typeOf[i] = type;
        }
        for (String name : parameterNames) {
            if (!types.containsKey(name)) {
                throw new IllegalArgumentException(description + " lists parameter '" + name + "', but its query"
                        + " does not use it");
            }
        }
        return new RenderedStatement(sql, argumentOf, typeOf);
    }

    /** The data type each argument is bound with, by argument index. */
    public DataType<?>[] argumentTypes(int arguments) {
        DataType<?>[] byArgument = new DataType<?>[arguments];
        for (int i = 0; i < argumentOf.length; i++) {
            byArgument[argumentOf[i]] = typeOf[i];
        }
        return byArgument;
    }
}
