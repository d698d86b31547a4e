package io.socketlauncher.demo.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RespCommandsTest {
    private final Keyspace keyspace = new Keyspace();
    private final RespCommands commands = new RespCommands(keyspace);
    private final RespCommands.Session session = new RespCommands.Session(0);

    private String run(String... args) {
        ReplyBuffer out = new ReplyBuffer();
        commands.execute(Arrays.stream(args).map(a -> a.getBytes(StandardCharsets.ISO_8859_1)).toList(), session, out);
        return new String(out.array(), 0, out.size(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void answersLikeRedis() {
        assertThat(run("PING")).isEqualTo("+PONG\r\n");
        assertThat(run("ping", "hi")).isEqualTo("$2\r\nhi\r\n");
        assertThat(run("ECHO", "")).isEqualTo("$0\r\n\r\n");
        assertThat(run("GET", "k")).isEqualTo("$-1\r\n");
        assertThat(run("SET", "k", "v")).isEqualTo("+OK\r\n");
        assertThat(run("GET", "k")).isEqualTo("$1\r\nv\r\n");
        assertThat(run("INCR", "n")).isEqualTo(":1\r\n");
        assertThat(run("INCR", "n")).isEqualTo(":2\r\n");
        assertThat(run("SET", "n", "-10")).isEqualTo("+OK\r\n");
        assertThat(run("INCR", "n")).isEqualTo(":-9\r\n");
        assertThat(run("LPUSH", "l", "a", "b")).isEqualTo(":2\r\n");
        assertThat(run("CONFIG", "GET", "save")).isEqualTo("*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
        assertThat(run("CONFIG", "GET", "appendonly", "maxmemory")).isEqualTo("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
        assertThat(run("CONFIG", "GET", "maxmemory")).isEqualTo("*0\r\n");
        assertThat(run("DEMO.STREAM")).isEqualTo("+OK\r\n");
    }

    @Test
    void incrErrorsAreRedisErrors() {
        run("SET", "text", "abc");
        assertThat(run("INCR", "text")).isEqualTo("-ERR value is not an integer or out of range\r\n");
        run("SET", "padded", " 1");
        assertThat(run("INCR", "padded")).isEqualTo("-ERR value is not an integer or out of range\r\n");
        run("SET", "max", Long.toString(Long.MAX_VALUE));
        assertThat(run("INCR", "max")).isEqualTo("-ERR increment or decrement would overflow\r\n");
        assertThat(run("GET", "max")).as("unchanged").isEqualTo("$19\r\n9223372036854775807\r\n");
        run("LPUSH", "list", "x");
        assertThat(run("INCR", "list")).isEqualTo("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
        assertThat(run("GET", "list")).isEqualTo("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
        assertThat(run("SET", "list", "1")).as("SET replaces any type").isEqualTo("+OK\r\n");
        assertThat(run("INCR", "list")).isEqualTo(":2\r\n");
    }

    @Test
    void selectChoosesOneOfSixteenDatabases() {
        run("SET", "k", "zero");
        assertThat(run("SELECT", "3")).isEqualTo("+OK\r\n");
        assertThat(session.database()).isEqualTo(3);
        assertThat(run("GET", "k")).isEqualTo("$-1\r\n");
        run("SET", "k", "three");
        assertThat(run("SELECT", "16")).isEqualTo("-ERR DB index is out of range\r\n");
        assertThat(run("SELECT", "-1")).isEqualTo("-ERR DB index is out of range\r\n");
        assertThat(run("SELECT", "x")).isEqualTo("-ERR value is not an integer or out of range\r\n");
        assertThat(session.database()).isEqualTo(3);
        assertThat(run("GET", "k")).isEqualTo("$5\r\nthree\r\n");
        run("SELECT", "0");
        assertThat(run("GET", "k")).isEqualTo("$4\r\nzero\r\n");
    }

    @Test
    void wrongUseIsAnErrorReply() {
        assertThat(run("GET")).isEqualTo("-ERR wrong number of arguments for 'get' command\r\n");
        assertThat(run("PING", "a", "b")).isEqualTo("-ERR wrong number of arguments for 'ping' command\r\n");
        assertThat(run("SET", "k", "v", "EX", "10")).isEqualTo("-ERR syntax error\r\n");
        assertThat(run("FLUSHALL", "ASYNC")).isEqualTo("-ERR unknown command 'FLUSHALL', with args beginning with: 'ASYNC' \r\n");
        assertThat(run("CONFIG", "SET", "a", "b")).isEqualTo("-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n");
        assertThat(List.of(run("QUIT"))).containsExactly("+OK\r\n");
    }
}
