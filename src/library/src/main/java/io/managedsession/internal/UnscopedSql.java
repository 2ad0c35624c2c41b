package io.managedsession.internal;

import java.util.Locale;

/**
 * Finds, in SQL text about to run on a transaction's connection, a statement whose effect would not end with the
 * transaction, so that the guarded connection refuses it before it reaches the server:
 *
 * <ul>
 *   <li>one that ends the transaction: {@code COMMIT}, {@code END}, {@code ROLLBACK} (not {@code ROLLBACK TO}, which
 *       goes back to a savepoint), {@code ABORT}, {@code PREPARE TRANSACTION}, {@code COMMIT PREPARED},
 *       {@code ROLLBACK PREPARED}. PostgreSQL would end the transaction there and the driver would begin the next one
 *       on the following statement, so the work done so far would be committed (or lost) while the callback goes on,
 *       and a later failure could no longer undo it. jOOQ writes these for {@code ctx.commit()} and
 *       {@code ctx.rollback()};</li>
 *   <li>one that changes the server session: {@code SET} without {@code LOCAL} (jOOQ's {@code ctx.set(...)} and
 *       {@code ctx.setSchema(...)}), {@code SET SESSION}, {@code SET ROLE}, {@code SET SESSION AUTHORIZATION},
 *       {@code SET SESSION CHARACTERISTICS}, and {@code RESET}, which is {@code SET ... TO DEFAULT}. The session
 *       outlives the transaction on a pooled connection, so the setting would reach whichever transaction gets that
 *       connection next (behind a pooler in transaction mode, another client). {@code SET LOCAL},
 *       {@code SET TRANSACTION} and {@code SET CONSTRAINTS} end with the transaction and pass;</li>
 *   <li>{@code CREATE TEMPORARY TABLE} without {@code ON COMMIT DROP} or {@code ON COMMIT DELETE ROWS} (jOOQ's
 *       {@code ctx.createTemporaryTable(...)} without {@code onCommitDrop()}): the table and its rows stay in the
 *       session, where the next transaction on that connection sees them; a temporary view or sequence always
 *       stays;</li>
 *   <li>what the session keeps under a name until it ends: {@code PREPARE name AS ...} and
 *       {@code DECLARE name CURSOR WITH HOLD}; the next transaction on that connection could not use the name
 *       again;</li>
 *   <li>{@code LISTEN}: the subscription stays with the pooled connection, and the driver keeps each notification
 *       for a {@code getNotifications()} that no transaction calls;</li>
 *   <li>a call, anywhere in a statement, of a session-level advisory lock function ({@code pg_advisory_lock},
 *       {@code pg_try_advisory_lock} and their {@code _shared} forms): the lock belongs to the server session, so
 *       commit and rollback leave it held by the pooled connection, where nothing unlocks it. The {@code _xact_}
 *       forms end with the transaction and pass;</li>
 *   <li>a call of {@code set_config(name, value, is_local)} whose {@code is_local} is not written as true: false
 *       is a session-level {@code SET}, and a bound or computed value cannot be seen to be true in the text.</li>
 * </ul>
 *
 * <p>It reads the first words of each statement, as PostgreSQL's grammar starts them; the text may hold several
 * statements separated by semicolons (the simple query protocol runs them all, and the driver splits them for the
 * extended one), so semicolons are found outside string literals ({@code '...'}, {@code E'...'} with its backslash
 * escapes, dollar quotes), quoted identifiers and comments. Inside statements it looks only for the calls above, by
 * name (plain in any case, or quoted, qualified or not) followed by a parenthesis (white space may come between, a
 * comment may not), outside literals and comments. What runs on the server, where no text shows it, is not seen: a
 * function or {@code DO} block that sets something or takes a session lock, a function's own {@code SET}.
 * {@code SELECT ... INTO TEMP} is not looked for. A {@code SAVEPOINT} or {@code ROLLBACK TO} written as SQL passes:
 * it stays inside the transaction, though the manager keeps track only of the savepoints set through JDBC or jOOQ.
 *
 * <p>Most SQL is one statement starting with another word, so the common case costs a look at its first character,
 * a search for a semicolon and one for opening parentheses, with a look at the last letter of the name before each;
 * the text is lexed only when it holds a semicolon or one of the names.
 */
final class UnscopedSql {

    /** What PostgreSQL keeps of an identifier; longer names are cut for the message. */
    private static final int NAME_LENGTH = 63;

    /** What a setting for the session reaches. */
    private static final String SESSION = "the server session, which outlives the transaction on a pooled connection"
            + " and reaches the next transaction to get that connection";

    /** The functions whose call, anywhere in a statement, reaches beyond the transaction. */
    private static final String[] SESSION_FUNCTIONS = {"pg_advisory_lock", "pg_advisory_lock_shared",
        "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "set_config"};

    private UnscopedSql() {
    }

    /**
     * Throws when {@code sql} holds a statement that would end the transaction or change the server session.
     *
     * @throws UnsupportedOperationException naming the statement's command and its setting (never the value set) and
     *                                       saying what to write instead
     */
    static void refuse(String sql) {
        if (sql != null) {
            String command = worthReading(sql) ? find(sql) : sessionCall(sql);
            if (command != null) {
                throw new UnsupportedOperationException(command + " is not allowed in a transaction of SessionManager: "
                        + why(command));
            }
        }
    }

    /**
     * The first look, kept small because it runs in the path of every statement, where the JIT should keep inlining
     * the driver's calls: text that starts with a letter none of the commands looked for starts with ({@code SELECT},
     * {@code LOCK} and {@code DELETE} do; {@code UPDATE}, {@code INSERT}, {@code WITH} do not) and holds no semicolon
     * needs only the search for calls.
     */
    private static boolean worthReading(String sql) {
        if (sql.isEmpty()) {
            return false;
        }
        char first = sql.charAt(0);
        return switch (first | 0x20) { // the lower case of a letter
            case 's', 'r', 'c', 'e', 'a', 'p', 'l', 'd' -> true;
            default -> !Character.isLetter(first) || sql.indexOf(';') >= 0;
        };
    }

    private static String why(String command) {
        if (command.startsWith("pg_")) { // the advisory lock functions, named as they are
            return "the lock outlives the transaction: it belongs to the server session, so commit and rollback leave"
                    + " it held by the pooled connection, where nothing unlocks it and every other session asking for"
                    + " it waits on; use the transaction-level pg_advisory_xact_lock (pg_try_advisory_xact_lock, and"
                    + " the _shared forms), which is released when the transaction ends";
        }
        if (command.startsWith("set_config")) {
            return command.endsWith("false")
                    ? "with is_local false it changes " + SESSION + "; pass true, which ends the setting with the"
                            + " transaction"
                    : "with is_local false it would change " + SESSION + ", and a bound or computed is_local cannot"
                            + " be seen to be true in the SQL text; write it as true (jOOQ: DSL.inline(true)), which"
                            + " ends the setting with the transaction";
        }
        if (command.startsWith("SET") || command.startsWith("RESET")) {
            return "without LOCAL it changes " + SESSION + "; use SET LOCAL (SET LOCAL ROLE, SET LOCAL ... TO DEFAULT"
                    + " for a RESET, TransactionOptions for isolation and read-only), which ends with the transaction";
        }
        if (command.startsWith("LISTEN")) {
            return "the subscription outlives the transaction on a pooled connection, whose driver then keeps every"
                    + " notification for a reader that never comes; NOTIFY works in a transaction (it is sent at"
                    + " commit), LISTEN belongs on a connection of its own, read with PGConnection.getNotifications";
        }
        if (command.startsWith("CREATE TEMPORARY TABLE")) {
            return "the table outlives the transaction on a pooled connection, and the next transaction to get that"
                    + " connection sees it and its rows (and its own CREATE fails); add ON COMMIT DROP (jOOQ:"
                    + " onCommitDrop()), or ON COMMIT DELETE ROWS for a table meant to stay, empty, between"
                    + " transactions";
        }
        if (command.startsWith("CREATE")) {
            return "a temporary view or sequence outlives the transaction on a pooled connection, where the next"
                    + " transaction to get that connection finds it (and its own CREATE fails); use a WITH query, or"
                    + " a table with ON COMMIT DROP, which end with the statement or the transaction";
        }
        if (command.startsWith("DECLARE")) {
            return "a cursor WITH HOLD outlives the transaction on a pooled connection, keeping its rows in the server"
                    + " session until closed, and the next transaction to get that connection cannot declare it"
                    + " again; declare it without HOLD and read it inside the transaction (or fetch with a fetch size"
                    + " through JDBC or jOOQ's fetchSize)";
        }
        if (command.startsWith("PREPARE") && !command.equals("PREPARE TRANSACTION")) {
            return "the prepared statement outlives the transaction on a pooled connection, and the next transaction"
                    + " to get that connection cannot prepare the name again; use a JDBC PreparedStatement or a"
                    + " PreparedQuery, which the driver prepares and keeps per connection itself";
        }
        return "it would end the transaction while the callback runs, so that a later failure could no longer undo"
                + " the work before it; return from the callback to commit, throw to roll back, and use a savepoint"
                + " (ctx.transaction(...) or Propagation.NESTED) to undo a part";
    }

    /**
     * The command of the first statement in {@code sql} that would outlive its transaction, with the setting it
     * names ({@code "COMMIT"}, {@code "SET search_path"}, {@code "RESET ALL"}), else the first call that would
     * ({@code "pg_advisory_lock"}, {@code "set_config(search_path, ...) with is_local false"}), or {@code null} when
     * there is none.
     */
    static String find(String sql) {
        if (sql == null) {
            return null;
        }
        String command = firstWords(sql);
        return command != null ? command : sessionCall(sql);
    }

    private static String firstWords(String sql) {
        int at = 0;
        while (true) {
            at = skipBlanks(sql, at);
            if (at >= sql.length()) {
                return null;
            }
            String found = judge(sql, at);
            if (found != null) {
                return found;
            }
            if (sql.indexOf(';', at) < 0) {
                return null;
            }
            at = afterStatement(sql, at);
        }
    }

    /**
     * The statement starting at {@code at}, judged by its first words. Nothing is allocated unless the first word is
     * one of the commands looked for, since nearly every statement that passes here starts with another.
     */
    private static String judge(String sql, int at) {
        int end = wordEnd(sql, at);
        int next = skipBlanks(sql, end);
        if (is(sql, at, end, "SET")) {
            return set(sql, next, word(sql, next));
        } else if (is(sql, at, end, "COMMIT")) {
            return "PREPARED".equals(word(sql, next)) ? "COMMIT PREPARED" : "COMMIT";
        } else if (is(sql, at, end, "ROLLBACK")) {
            return rollback(sql, next, word(sql, next));
        } else if (is(sql, at, end, "END")) {
            return "END";
        } else if (is(sql, at, end, "ABORT")) {
            return "ABORT";
        } else if (is(sql, at, end, "RESET")) {
            return "RESET " + nameAt(sql, next, word(sql, next));
        } else if (is(sql, at, end, "PREPARE")) {
            return "TRANSACTION".equals(word(sql, next)) ? "PREPARE TRANSACTION" : "PREPARE " + nameAt(sql, next, "");
        } else if (is(sql, at, end, "DECLARE")) {
            return heldCursor(sql, next);
        } else if (is(sql, at, end, "CREATE")) {
            return temporaryRelation(sql, next);
        } else if (is(sql, at, end, "LISTEN")) {
            return "LISTEN " + nameAt(sql, next, "");
        }
        return null;
    }

    /**
     * {@code DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR WITH HOLD FOR ...}: a cursor, with
     * the rows it has yet to return, that stays in the session after the commit.
     */
    private static String heldCursor(String sql, int next) {
        String name = nameAt(sql, next, "");
        int at = skipBlanks(sql, next < sql.length() && sql.charAt(next) == '"' ? quoteEnd(sql, next, '"')
                : wordEnd(sql, next));
        String before = "";
        while (at < sql.length() && isWordStart(sql.charAt(at))) {
            String word = word(sql, at);
            if ("FOR".equals(word)) {
                break;
            }
            if ("WITH".equals(before) && "HOLD".equals(word)) {
                return "DECLARE " + name + " CURSOR WITH HOLD";
            }
            before = word;
            at = skipBlanks(sql, wordEnd(sql, at));
        }
        return null;
    }

    /**
     * {@code CREATE [OR REPLACE] [GLOBAL | LOCAL] TEMP[ORARY] TABLE [IF NOT EXISTS] name} without
     * {@code ON COMMIT DROP} or {@code ON COMMIT DELETE ROWS}: a table, with its rows, that stays in the session; and a
     * temporary view or sequence, which has no {@code ON COMMIT} and always stays.
     */
    private static String temporaryRelation(String sql, int next) {
        int at = next;
        String word = word(sql, at);
        if ("OR".equals(word) && "REPLACE".equals(word(sql, skipBlanks(sql, wordEnd(sql, at))))) {
            at = skipBlanks(sql, wordEnd(sql, skipBlanks(sql, wordEnd(sql, at))));
            word = word(sql, at);
        }
        if ("GLOBAL".equals(word) || "LOCAL".equals(word)) {
            at = skipBlanks(sql, wordEnd(sql, at));
            word = word(sql, at);
        }
        if (!"TEMP".equals(word) && !"TEMPORARY".equals(word)) {
            return null;
        }
        at = skipBlanks(sql, wordEnd(sql, at));
        String kind = word(sql, at);
        if ("RECURSIVE".equals(kind)) {
            at = skipBlanks(sql, wordEnd(sql, at));
            kind = word(sql, at);
        }
        if (!"TABLE".equals(kind) && !"VIEW".equals(kind) && !"SEQUENCE".equals(kind)) {
            return null;
        }
        at = skipBlanks(sql, wordEnd(sql, at));
        for (String expected : new String[] {"IF", "NOT", "EXISTS"}) {
            if (!expected.equals(word(sql, at))) {
                break;
            }
            at = skipBlanks(sql, wordEnd(sql, at));
        }
        if ("TABLE".equals(kind) && endsWithItsTransaction(sql, at)) {
            return null;
        }
        return "CREATE TEMPORARY " + kind + " " + nameAt(sql, at, "");
    }

    /** Whether the statement from {@code at} says {@code ON COMMIT DROP} or {@code ON COMMIT DELETE}. */
    private static boolean endsWithItsTransaction(String sql, int at) {
        String before = "";
        String last = "";
        int i = at;
        while (i < sql.length() && sql.charAt(i) != ';') {
            char c = sql.charAt(i);
            if (isWordStart(c)) {
                int end = wordEnd(sql, i);
                String word = sql.substring(i, end).toUpperCase(Locale.ROOT);
                if ("ON".equals(before) && "COMMIT".equals(last) && ("DROP".equals(word) || "DELETE".equals(word))) {
                    return true;
                }
                before = last;
                last = word;
                i = end;
            } else if (c == '\'' || c == '"' || c == '$' || sql.startsWith("--", i) || sql.startsWith("/*", i)) {
                i = skipQuoted(sql, i);
                before = "";
                last = "";
            } else {
                i++;
            }
        }
        return false;
    }

    /**
     * The first call in {@code sql} whose effect would outlive the transaction: a session-level advisory lock, or
     * {@code set_config} with an {@code is_local} not written as true. A call is a name followed by an opening
     * parenthesis, so only the parentheses are looked at (statements hold far fewer of them than underscores or
     * letters), and the text is lexed only up to a name that matches.
     */
    private static String sessionCall(String sql) {
        for (int open = sql.indexOf('(', 1); open > 0; open = sql.indexOf('(', open + 1)) {
            // Kept to a few comparisons, since it runs in the path of every statement: the letter the name before
            // the parenthesis ends with rules out nearly every other call, and every column list or condition.
            int end = open;
            while (end > 1 && sql.charAt(end - 1) <= ' ') {
                end--;
            }
            int nameEnd = end > 1 && sql.charAt(end - 1) == '"' ? end - 1 : end;
            int last = sql.charAt(nameEnd - 1) | 0x20; // the lower case of a letter
            if (last == 'k' || last == 'd' || last == 'g') { // how ..._lock, ..._shared and set_config end
                String found = callBefore(sql, open, nameEnd, nameEnd < end);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    /**
     * What the call whose arguments open at {@code open} does beyond the transaction, or {@code null} when the name
     * ending at {@code nameEnd} is another, or sits in a literal or comment.
     */
    private static String callBefore(String sql, int open, int nameEnd, boolean quoted) {
        int start = nameEnd;
        if (quoted) {
            start = sql.lastIndexOf('"', nameEnd - 1) + 1;
        } else {
            while (start > 0 && isWordPart(sql.charAt(start - 1))) {
                start--;
            }
        }
        String name = sessionFunction(sql, start, nameEnd, quoted);
        if (name == null || !inPlainText(sql, quoted ? start - 1 : start)) {
            return null;
        }
        return "set_config".equals(name) ? setConfig(sql, open) : name;
    }

    /** The function looked for that is named from {@code start} to {@code end}: in any case, or exactly if quoted. */
    private static String sessionFunction(String sql, int start, int end, boolean quoted) {
        for (String name : SESSION_FUNCTIONS) {
            if (end - start == name.length() && sql.regionMatches(!quoted, start, name, 0, name.length())) {
                return name;
            }
        }
        return null;
    }

    /** Whether {@code at} is in plain text, not inside a string literal, a quoted identifier or a comment. */
    private static boolean inPlainText(String sql, int at) {
        int i = 0;
        while (i < at) {
            i = skipQuoted(sql, i);
        }
        return i == at;
    }

    /**
     * {@code set_config(name, value, is_local)} whose arguments start after {@code open}: {@code null} when
     * {@code is_local} is written as true ({@code true}, or a literal PostgreSQL reads as true, cast to boolean or
     * not), else the call named by its setting when that is a literal.
     */
    private static String setConfig(String sql, int open) {
        int[] bounds = new int[6];
        int count = 0;
        int depth = 0;
        int start = open + 1;
        int i = start;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == '(' || c == '[') {
                depth++;
                i++;
            } else if ((c == ')' || c == ']') && depth > 0) {
                depth--;
                i++;
            } else if (c == ')' || c == ',' && depth == 0) {
                if (count == 3) {
                    return null; // not the three-argument function of PostgreSQL
                }
                bounds[2 * count] = start;
                bounds[2 * count + 1] = i;
                count++;
                if (c == ')') {
                    break;
                }
                start = ++i;
            } else {
                i = skipQuoted(sql, i);
            }
        }
        if (count != 3) {
            return null;
        }
        Boolean local = truth(sql, skipBlanks(sql, bounds[4]), bounds[5]);
        if (Boolean.TRUE.equals(local)) {
            return null;
        }
        return "set_config(" + settingOf(sql, skipBlanks(sql, bounds[0]), bounds[1]) + ", ...) with is_local "
                + (local == null ? "not written as true" : "false");
    }

    /**
     * The boolean written from {@code at} to {@code end}: the word {@code true} or {@code false}, or a string literal
     * PostgreSQL reads as one ({@code 't'}, {@code 'on'}, {@code 'yes'}, {@code '1'} and the like), optionally cast
     * to {@code bool} or {@code boolean}; {@code null} for anything else.
     */
    private static Boolean truth(String sql, int at, int end) {
        String value;
        int after;
        if (at < end && sql.charAt(at) == '\'') {
            after = quoteEnd(sql, at, '\'');
            value = sql.substring(at + 1, Math.max(at + 1, after - 1)).replace("''", "'").strip()
                    .toLowerCase(Locale.ROOT);
        } else {
            after = wordEnd(sql, at);
            String word = sql.substring(at, after).toLowerCase(Locale.ROOT);
            value = "true".equals(word) || "false".equals(word) ? word : "";
        }
        after = skipBlanks(sql, after);
        if (sql.startsWith("::", after)) {
            int type = skipBlanks(sql, after + 2);
            String cast = word(sql, type);
            if (!"BOOL".equals(cast) && !"BOOLEAN".equals(cast)) {
                return null;
            }
            after = skipBlanks(sql, wordEnd(sql, type));
        }
        if (after < end || value.isEmpty()) {
            return null;
        }
        // PostgreSQL's boolean input: these words or any prefix of them that no other shares, and 1 and 0.
        if ("1".equals(value) || "true".startsWith(value) || "yes".startsWith(value) || "on".equals(value)) {
            return Boolean.TRUE;
        }
        if ("0".equals(value) || "false".startsWith(value) || "no".startsWith(value)
                || value.length() > 1 && "off".startsWith(value)) {
            return Boolean.FALSE;
        }
        return null;
    }

    /** The setting {@code set_config} is given, when written as a literal; a parameter shows as {@code ?}. */
    private static String settingOf(String sql, int at, int end) {
        if (at < end && sql.charAt(at) == '\'') {
            int close = quoteEnd(sql, at, '\'');
            return PrintableAscii.shown(sql.substring(at + 1, Math.max(at + 1, close - 1)).replace("''", "'"), NAME_LENGTH);
        }
        return at < end && (sql.charAt(at) == '?' || sql.charAt(at) == '$') ? "?" : "...";
    }

    /** Whether the word from {@code at} to {@code end} is {@code keyword}, in any case. */
    private static boolean is(String sql, int at, int end, String keyword) {
        return end - at == keyword.length() && sql.regionMatches(true, at, keyword, 0, keyword.length());
    }

    private static String rollback(String sql, int next, String second) {
        if ("WORK".equals(second) || "TRANSACTION".equals(second)) {
            int after = skipBlanks(sql, wordEnd(sql, next));
            second = word(sql, after);
        }
        if ("TO".equals(second)) {
            return null; // ROLLBACK TO SAVEPOINT stays inside the transaction
        }
        return "PREPARED".equals(second) ? "ROLLBACK PREPARED" : "ROLLBACK";
    }

    private static String set(String sql, int next, String second) {
        return switch (second) {
            case "LOCAL", "TRANSACTION", "CONSTRAINTS" -> null;
            case "SESSION" -> {
                int after = skipBlanks(sql, wordEnd(sql, next));
                String third = word(sql, after);
                yield "CHARACTERISTICS".equals(third) || "AUTHORIZATION".equals(third)
                        ? "SET SESSION " + third
                        : "SET SESSION " + nameAt(sql, after, third);
            }
            default -> "SET " + nameAt(sql, next, second);
        };
    }

    /**
     * How the message names what the statement at {@code at} acts on (a setting, a table, a channel): PostgreSQL's
     * keywords in capitals, a name as PostgreSQL reads it (folded to lower case unless quoted, dotted parts kept),
     * printable and cut to an identifier's length. Never a value.
     */
    private static String nameAt(String sql, int at, String word) {
        switch (word) {
            case "ROLE", "ALL", "SCHEMA", "NAMES" -> {
                return word;
            }
            case "TIME" -> {
                return "TIME ZONE";
            }
            case "SESSION" -> {
                return "SESSION AUTHORIZATION";
            }
            default -> {
                StringBuilder name = new StringBuilder();
                int i = at;
                while (i < sql.length()) {
                    if (sql.charAt(i) == '"') {
                        int close = quoteEnd(sql, i, '"');
                        boolean closed = close > i + 1 && sql.charAt(close - 1) == '"';
                        name.append(sql.substring(i + 1, closed ? close - 1 : close).replace("\"\"", "\""));
                        i = close;
                    } else {
                        int end = wordEnd(sql, i);
                        name.append(sql.substring(i, end).toLowerCase(Locale.ROOT));
                        i = end;
                    }
                    if (i < sql.length() && sql.charAt(i) == '.') {
                        name.append('.');
                        i++;
                    } else {
                        break;
                    }
                }
                return name.isEmpty() ? "(a setting)" : PrintableAscii.shown(name, NAME_LENGTH);
            }
        }
    }

    /** The word at {@code at} in capitals, or the empty string when no word starts there. */
    private static String word(String sql, int at) {
        return sql.substring(at, wordEnd(sql, at)).toUpperCase(Locale.ROOT);
    }

    private static int wordEnd(String sql, int at) {
        int i = at;
        if (i < sql.length() && isWordStart(sql.charAt(i))) {
            i++;
            while (i < sql.length() && isWordPart(sql.charAt(i))) {
                i++;
            }
        }
        return i;
    }

    private static boolean isWordStart(char c) {
        return Character.isLetter(c) || c == '_';
    }

    private static boolean isWordPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }

    /** Skips white space and comments ({@code --} to the end of the line, nested {@code /* ... *}{@code /}). */
    private static int skipBlanks(String sql, int at) {
        int i = at;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (sql.startsWith("--", i)) {
                int newline = sql.indexOf('\n', i);
                i = newline < 0 ? sql.length() : newline + 1;
            } else if (sql.startsWith("/*", i)) {
                i = commentEnd(sql, i);
            } else {
                break;
            }
        }
        return i;
    }

    /** The index after the semicolon that ends the statement starting at {@code at}, or the text's length. */
    private static int afterStatement(String sql, int at) {
        int i = at;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == ';') {
                return i + 1;
            }
            i = skipQuoted(sql, i);
        }
        return i;
    }

    /**
     * After the literal, quoted identifier or comment starting at {@code i}, or the next character when none starts
     * there.
     */
    private static int skipQuoted(String sql, int i) {
        char c = sql.charAt(i);
        if (c == '\'') {
            boolean escapes = i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
                    && (i < 2 || !isWordPart(sql.charAt(i - 2)));
            return escapes ? escapedStringEnd(sql, i) : quoteEnd(sql, i, '\'');
        } else if (c == '"') {
            return quoteEnd(sql, i, '"');
        } else if (c == '$' && (i == 0 || !isWordPart(sql.charAt(i - 1)))) {
            return dollarQuoteEnd(sql, i);
        } else if (sql.startsWith("--", i) || sql.startsWith("/*", i)) {
            return skipBlanks(sql, i);
        }
        return i + 1;
    }

    /** After a literal or identifier quoted with {@code quote}, in which a doubled quote stands for itself. */
    private static int quoteEnd(String sql, int open, char quote) {
        int i = open + 1;
        while (i < sql.length()) {
            if (sql.charAt(i) == quote) {
                if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return i;
    }

    /** After an {@code E'...'} literal, in which a backslash escapes the next character. */
    private static int escapedStringEnd(String sql, int open) {
        int i = open + 1;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == '\\') {
                i += 2;
            } else if (c == '\'') {
                if (i + 1 < sql.length() && sql.charAt(i + 1) == '\'') {
                    i += 2;
                    continue;
                }
                return i + 1;
            } else {
                i++;
            }
        }
        return Math.min(i, sql.length());
    }

    /** After a dollar-quoted literal ({@code $$...$$}, {@code $tag$...$tag$}); a parameter ({@code $1}) is not one. */
    private static int dollarQuoteEnd(String sql, int open) {
        int i = open + 1;
        if (i < sql.length() && isWordStart(sql.charAt(i))) {
            i++;
            while (i < sql.length() && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_')) {
                i++;
            }
        }
        if (i >= sql.length() || sql.charAt(i) != '$') {
            return open + 1;
        }
        String tag = sql.substring(open, i + 1);
        int close = sql.indexOf(tag, i + 1);
        return close < 0 ? sql.length() : close + tag.length();
    }

    /** After a comment that starts at {@code open} with a slash and a star; such comments nest in PostgreSQL. */
    private static int commentEnd(String sql, int open) {
        int depth = 0;
        int i = open;
        while (i < sql.length()) {
            if (sql.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (sql.startsWith("*/", i)) {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return i;
    }
}
