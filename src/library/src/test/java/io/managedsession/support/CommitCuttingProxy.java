package io.managedsession.support;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.postgresql.Driver;

import io.managedsession.testing.TestDatabase;

/**
 * A TCP proxy in front of PostgreSQL that can simulate an outage ({@link #cutEverything()}) and that reads the client's
 * protocol messages so that, when armed, it cuts the connection
 * exactly at the next COMMIT: either before the COMMIT reaches the server (so it rolls back), or after the server has
 * executed it but before its reply reaches the client (so it committed). Either way the client cannot know which.
 *
 * <p>Connect through it with {@code sslmode=disable&gssEncMode=disable&prepareThreshold=0}, so that the protocol is
 * readable and every COMMIT carries its text.
 */
public final class CommitCuttingProxy implements AutoCloseable {

    /** Where to cut. */
    public enum Cut {
        /** Drop the COMMIT: the server never sees it and rolls the transaction back. */
        BEFORE_SERVER_SEES_COMMIT,
        /** Forward the COMMIT, then drop the server's reply: the transaction is committed. */
        AFTER_SERVER_COMMITS,
        /**
         * Drop the COMMIT and go silent as {@link #blackhole()} does: every connection stays open and hears nothing,
         * new ones too, until {@link #resumeForwarding()}. The transaction stays open on the server.
         */
        SILENCE_AT_COMMIT,
        /**
         * Drop the COMMIT and let this one connection go silent, open but forwarding nothing either way, while the
         * others work: a network path that failed under one connection. The transaction stays open on the server.
         */
        SWALLOW_COMMIT
    }

    private static final int SSL_REQUEST = 80877103;
    private static final int GSSENC_REQUEST = 80877104;

    private final ServerSocket listener;
    private final String targetHost;
    private final int targetPort;
    private final AtomicReference<Cut> armed = new AtomicReference<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong roundTrips = new AtomicLong();
    private volatile boolean refusing;
    private volatile boolean blackholed;

    private CommitCuttingProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("proxy-accept").start(this::acceptLoop);
    }

    /** Starts a proxy to {@code host:port} on a free local port. */
    public static CommitCuttingProxy to(String host, int port) throws IOException {
        return new CommitCuttingProxy(host, port);
    }

    /** Starts a proxy, on a free local port, to the server the test database lives on. */
    public static CommitCuttingProxy toServerOf(TestDatabase db) throws IOException {
        Properties url = Driver.parseURL(db.jdbcUrl(), null);
        return to(url.getProperty("PGHOST").split(",")[0], Integer.parseInt(url.getProperty("PGPORT").split(",")[0]));
    }

    public int port() {
        return listener.getLocalPort();
    }

    /**
     * The round trips clients have made through the proxy so far: the messages after which a client waits for the
     * server's answer, Sync (which ends each batch of the extended protocol) and Query (the simple protocol). The
     * PostgreSQL driver's BEGIN is a Query it sends in the same write as the statement after it, whose answer it reads
     * with that statement's: it is not counted.
     */
    public long roundTrips() {
        return roundTrips.get();
    }

    /** Cuts the connection that sends the next COMMIT, as {@code cut} says; only once. */
    public void cutAtNextCommit(Cut cut) {
        armed.set(cut);
    }

    /** Simulates a database outage: closes every proxied connection and refuses new ones until {@link #restore()}. */
    public synchronized void cutEverything() {
        refusing = true;
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
        sockets.clear();
    }

    /** Ends an outage begun by {@link #cutEverything()}. */
    public void restore() {
        refusing = false;
    }

    /**
     * Simulates a network that goes silent: bytes in both directions are dropped, connections stay open, new ones are
     * accepted and then hear nothing; until {@link #resumeForwarding()}.
     */
    public void blackhole() {
        blackholed = true;
    }

    /** Forwards again. Connections that lost bytes meanwhile stay broken; new ones work. */
    public void resumeForwarding() {
        blackholed = false;
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                // Under the lock cutEverything() takes: a connection accepted just before an outage began would
                // otherwise be registered after the outage closed the others, and survive it (a pool filling
                // itself in the background opens them at any moment).
                synchronized (this) {
                    if (refusing) {
                        closeQuietly(client);
                        continue;
                    }
                    Socket server = new Socket(targetHost, targetPort);
                    // Forward each message as it comes: Nagle's algorithm would hold small replies back for tens of
                    // ms.
                    client.setTcpNoDelay(true);
                    server.setTcpNoDelay(true);
                    sockets.add(client);
                    sockets.add(server);
                    Connection connection = new Connection(client, server);
                    Thread.ofPlatform().daemon().name("proxy-client").start(connection::clientToServer);
                    Thread.ofPlatform().daemon().name("proxy-server").start(connection::serverToClient);
                }
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** One proxied connection: two pumps and what they know about an armed cut. */
    private final class Connection {

        private final Socket client;
        private final Socket server;
        private volatile boolean dropRepliesFromNowOn;
        private volatile boolean silent;

        Connection(Socket client, Socket server) {
            this.client = client;
            this.server = server;
        }

        void clientToServer() {
            // Not closed with the pump: closing a socket's stream closes the socket, and a swallowed connection keeps
            // its server side open. closeQuietly below closes it when it should go.
            try (DataInputStream in = new DataInputStream(client.getInputStream())) {
                DataOutputStream out = new DataOutputStream(server.getOutputStream());
                // Untyped messages first: optional SSL/GSS requests (refused by the server), then the startup message.
                while (true) {
                    int length = in.readInt();
                    byte[] body = in.readNBytes(length - 4);
                    if (blackholed) {
                        continue;
                    }
                    out.writeInt(length);
                    out.write(body);
                    out.flush();
                    int code = body.length >= 4 ? ((body[0] & 0xff) << 24 | (body[1] & 0xff) << 16
                            | (body[2] & 0xff) << 8 | (body[3] & 0xff)) : 0;
                    if (code != SSL_REQUEST && code != GSSENC_REQUEST) {
                        break;
                    }
                }
                while (true) {
                    int type = in.read();
                    if (type < 0) {
                        break;
                    }
                    int length = in.readInt();
                    byte[] body = in.readNBytes(length - 4);
                    if (isCommit((char) type, body)) {
                        Cut cut = armed.getAndSet(null);
                        if (cut == Cut.BEFORE_SERVER_SEES_COMMIT) {
                            closeQuietly(client);
                            closeQuietly(server);
                            return;
                        }
                        if (cut == Cut.AFTER_SERVER_COMMITS) {
                            dropRepliesFromNowOn = true;
                        }
                        if (cut == Cut.SILENCE_AT_COMMIT) {
                            blackholed = true;
                        }
                        if (cut == Cut.SWALLOW_COMMIT) {
                            silent = true;
                        }
                    }
                    if (blackholed || silent) {
                        continue;
                    }
                    if (type == 'S' || (type == 'Q' && !isBegin(body))) {
                        roundTrips.incrementAndGet();
                    }
                    out.write(type);
                    out.writeInt(length);
                    out.write(body);
                    out.flush();
                }
            } catch (IOException closed) {
                // One side went away; the other pump ends too.
            } finally {
                if (!silent) {
                    // A swallowed connection stays open towards the server: its backend waits on, as behind a
                    // network path that failed, until the proxy closes.
                    closeQuietly(server);
                }
            }
        }

        void serverToClient() {
            byte[] buffer = new byte[8192];
            try (InputStream in = server.getInputStream(); OutputStream out = client.getOutputStream()) {
                int read;
                while ((read = in.read(buffer)) >= 0) {
                    if (blackholed || silent) {
                        continue;
                    }
                    if (dropRepliesFromNowOn) {
                        // The server has answered the COMMIT: it is done. The client never hears of it.
                        closeQuietly(client);
                        in.transferTo(OutputStream.nullOutputStream());
                        return;
                    }
                    out.write(buffer, 0, read);
                    out.flush();
                }
            } catch (IOException closed) {
                // One side went away.
            } finally {
                closeQuietly(client);
            }
        }
    }

    /** The body of a simple query that begins a transaction, as the PostgreSQL driver sends it. */
    private static boolean isBegin(byte[] body) {
        String sql = new String(body, 0, Math.max(0, body.length - 1), StandardCharsets.UTF_8).trim();
        return sql.equalsIgnoreCase("BEGIN") || sql.equalsIgnoreCase("BEGIN READ ONLY");
    }

    /** A simple query or a Parse message whose SQL is exactly COMMIT. */
    private static boolean isCommit(char type, byte[] body) {
        String sql;
        if (type == 'Q') {
            sql = new String(body, 0, Math.max(0, body.length - 1), StandardCharsets.UTF_8);
        } else if (type == 'P') {
            int nameEnd = indexOfZero(body, 0);
            int queryEnd = indexOfZero(body, nameEnd + 1);
            sql = new String(body, nameEnd + 1, queryEnd - nameEnd - 1, StandardCharsets.UTF_8);
        } else {
            return false;
        }
        return sql.trim().equalsIgnoreCase("COMMIT");
    }

    private static int indexOfZero(byte[] body, int from) {
        for (int i = from; i < body.length; i++) {
            if (body[i] == 0) {
                return i;
            }
        }
        return body.length;
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing a socket that is already broken.
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }
}
