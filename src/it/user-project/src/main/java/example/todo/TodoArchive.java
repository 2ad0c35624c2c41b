package example.todo;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

/**
 * Code of the project's first years, before jOOQ came: plain JDBC on the DataSource it is given, a connection per
 * call, closed at its end.
 */
public final class TodoArchive {

    private final DataSource dataSource;

    public TodoArchive(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Marks every open todo whose title starts with {@code prefix} done, and says how many. */
    public int archive(String prefix) throws SQLException {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement update = connection.prepareStatement(
                     "UPDATE todos SET done = true WHERE NOT done AND title LIKE ? || '%'")) {
            update.setString(1, prefix);
            return update.executeUpdate();
        }
    }

    /** How many todos are open. */
    public long openCount() throws SQLException {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement count = connection.prepareStatement("SELECT count(*) FROM todos WHERE NOT done");
             ResultSet row = count.executeQuery()) {
            row.next();
            return row.getLong(1);
        }
    }
}
