package io.managedsession.internal;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postgresql.Driver;

/** JDBC URLs made safe to print (passwords are masked wherever a URL may carry one), and the credentials in them. */
public final class JdbcUrls {

    /** {@code password=...} as a URL parameter, up to the next separator. */
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)([?&;]password=)[^&;#]*");

    /** {@code user:secret@} in the authority part. */
    private static final Pattern USER_INFO_PASSWORD = Pattern.compile("(//[^/:@?]*:)[^/@?]*@");

    /** A whole {@code password=...} parameter, with the separator before it. */
    private static final Pattern PASSWORD_PARAMETER_WHOLE = Pattern.compile("(?i)([?&;])password=([^&;#]*)");

    private JdbcUrls() {
    }

    /**
     * Returns the password carried in the URL's parameters, URL-decoded as the driver would, or {@code null}.
     */
    public static String password(String url) {
        Matcher matcher = PASSWORD_PARAMETER_WHOLE.matcher(url);
        return matcher.find() ? URLDecoder.decode(matcher.group(2), StandardCharsets.UTF_8) : null;
    }

    /**
     * Returns the user the URL names ({@code ?user=...}), as the driver reads the URL, or {@code null} when it names
     * none or is no URL the driver takes.
     */
    public static String user(String url) {
        return parameter(url, "user");
    }

    /**
     * Returns the value of the URL's parameter {@code name} as the driver reads the URL (decoded; names are
     * case-sensitive, as the driver's properties are), or {@code null} when it has none or is no URL the driver takes.
     */
    public static String parameter(String url, String name) {
        Properties parsed = Driver.parseURL(withoutPassword(url), null);
        return parsed == null ? null : parsed.getProperty(name);
    }

    /**
     * Returns the URL without its {@code password} parameter. The PostgreSQL driver logs the URL it connects with (at
     * debug level), so a password must reach it as a property, never inside the URL.
     */
    public static String withoutPassword(String url) {
        Matcher matcher = PASSWORD_PARAMETER_WHOLE.matcher(url);
        if (!matcher.find()) {
            return url;
        }
        String before = url.substring(0, matcher.start());
        String after = url.substring(matcher.end());
        if (matcher.group(1).equals("?")) {
            // The password was the first parameter: the next one, if any, becomes the first.
            return after.isEmpty() ? before : before + "?" + after.substring(1);
        }
        return before + after;
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
