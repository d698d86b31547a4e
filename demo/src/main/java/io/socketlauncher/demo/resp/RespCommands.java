package io.socketlauncher.demo.resp;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The commands the demo's server knows: PING, ECHO, SET, GET, INCR, LPUSH (so that WRONGTYPE can happen),
 * SELECT, CONFIG GET (what redis-benchmark asks on start), QUIT, and DEMO.STREAM, which turns the connection
 * into the demo's checked numbered stream. Replies and error texts are Redis's.
 */
public final class RespCommands {
    /** What the connection does after the reply. */
    public enum Next { CONTINUE, CLOSE, STREAM }

    /** The selected database of one connection. */
    public static final class Session {
        int database;

        public Session(int database) {
            this.database = database;
        }

        public int database() {
            return database;
        }
    }

    private final Keyspace keyspace;

    public RespCommands(Keyspace keyspace) {
        this.keyspace = keyspace;
    }

    public Next execute(List<byte[]> args, Session session, ReplyBuffer out) {
        String name = new String(args.get(0), StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
        int n = args.size();
        try {
            switch (name) {
                case "ping" -> {
                    if (n > 2) return arity(name, out);
                    if (n == 2) out.bulk(args.get(1));
                    else out.simple("PONG");
                }
                case "echo" -> {
                    if (n != 2) return arity(name, out);
                    out.bulk(args.get(1));
                }
                case "set" -> {
                    if (n < 3) return arity(name, out);
                    if (n > 3) {
                        out.error("ERR syntax error");
                        return Next.CONTINUE;
                    }
                    keyspace.set(session.database, args.get(1), args.get(2));
                    out.simple("OK");
                }
                case "get" -> {
                    if (n != 2) return arity(name, out);
                    out.bulk(keyspace.get(session.database, args.get(1)));
                }
                case "incr" -> {
                    if (n != 2) return arity(name, out);
                    out.integer(keyspace.incr(session.database, args.get(1)));
                }
                case "lpush" -> {
                    if (n < 3) return arity(name, out);
                    out.integer(keyspace.lpush(session.database, args.get(1), args.subList(2, n)));
                }
                case "select" -> {
                    if (n != 2) return arity(name, out);
                    Long db = RespParser.parseStrictLong(args.get(1), 0, args.get(1).length);
                    if (db == null) out.error("ERR value is not an integer or out of range");
                    else if (db < 0 || db >= Keyspace.DATABASES) out.error("ERR DB index is out of range");
                    else {
                        session.database = db.intValue();
                        out.simple("OK");
                    }
                }
                case "config" -> config(args, out);
                case "quit" -> {
                    out.simple("OK");
                    return Next.CLOSE;
                }
                case "demo.stream" -> {
                    if (n != 1) return arity(name, out);
                    out.simple("OK");
                    return Next.STREAM;
                }
                default -> out.error(unknown(args));
            }
        } catch (Keyspace.WrongTypeException | Keyspace.NotAnIntegerException e) {
            out.error(e.getMessage());
        }
        return Next.CONTINUE;
    }

    /**
     * CONFIG GET answers the two parameters redis-benchmark asks for on start (save, appendonly) with what a
     * server without persistence says, and nothing for any other parameter.
     */
    private static void config(List<byte[]> args, ReplyBuffer out) {
        if (args.size() < 2) {
            arity("config", out);
            return;
        }
        String sub = new String(args.get(1), StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
        if (!sub.equals("get")) {
            out.error("ERR unknown subcommand '" + clip(args.get(1)) + "'. Try CONFIG HELP.");
            return;
        }
        if (args.size() < 3) {
            out.error("ERR wrong number of arguments for 'config|get' command");
            return;
        }
        ReplyBuffer pairs = new ReplyBuffer();
        int found = 0;
        for (byte[] p : args.subList(2, args.size())) {
            String param = new String(p, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            String value = switch (param) {
                case "save" -> "";
                case "appendonly" -> "no";
                default -> null;
            };
            if (value == null) continue;
            pairs.bulk(param.getBytes(StandardCharsets.ISO_8859_1)).bulk(value.getBytes(StandardCharsets.ISO_8859_1));
            found++;
        }
        out.array(2 * found);
        if (found > 0) out.raw(pairs);
    }

    private static Next arity(String name, ReplyBuffer out) {
        out.error("ERR wrong number of arguments for '" + name + "' command");
        return Next.CONTINUE;
    }

    private static String unknown(List<byte[]> args) {
        StringBuilder b = new StringBuilder("ERR unknown command '").append(clip(args.get(0))).append("', with args beginning with: ");
        for (byte[] a : args.subList(1, args.size())) {
            if (b.length() > 1024) break;
            b.append('\'').append(clip(a)).append("' ");
        }
        return b.toString();
    }

    private static String clip(byte[] b) {
        return new String(b, 0, Math.min(b.length, 128), StandardCharsets.ISO_8859_1);
    }
}
