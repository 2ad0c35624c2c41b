package io.managedsession.internal;

import java.util.regex.Pattern;

/** JDBC URLs made safe to print: passwords are masked wherever a URL may carry one. */
public final class JdbcUrls {

    /** {@code password=...} as a URL parameter, up to the next separator. */
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)([?&;]password=)[^&;#]*");

    /** {@code user:secret@} in the authority part. */
    private static final Pattern USER_INFO_PASSWORD = Pattern.compile("(//[^/:@?]*:)[^/@?]*@");

    private JdbcUrls() {
    }

    /** Returns {@code url} with any password in it replaced by {@code ***}; {@code null} stays {@code null}. */
    public static String redact(String url) {
        if (url == null) {
            return null;
        }
        String masked = PASSWORD_PARAMETER.matcher(url).replaceAll("$1***");
        return USER_INFO_PASSWORD.matcher(masked).replaceAll("$1***@");
    }
}
