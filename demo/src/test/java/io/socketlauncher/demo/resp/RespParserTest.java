package io.socketlauncher.demo.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RespParserTest {
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static List<String> strings(RespParser.Request r) {
        return r.args().stream().map(a -> new String(a, StandardCharsets.ISO_8859_1)).toList();
    }

    /** Every request in {@code input}, parsed as a connection would with all of it read at once. */
    private static List<List<String>> parseAll(byte[] input) throws RespProtocolException {
        RespParser parser = new RespParser();
        List<List<String>> out = new ArrayList<>();
        int start = 0;
        for (RespParser.Request r; (r = parser.next(input, start, input.length)) != null; ) {
            start += r.length();
            out.add(strings(r));
        }
        assertThat(start).as("bytes left unparsed").isEqualTo(input.length);
        return out;
    }

    private static String error(String input) {
        return error(ascii(input));
    }

    private static String error(byte[] input) {
        RespParser parser = new RespParser();
        try {
            int start = 0;
            for (RespParser.Request r; (r = parser.next(input, start, input.length)) != null; ) start += r.length();
        } catch (RespProtocolException e) {
            return e.getMessage();
        }
        throw new AssertionError("no protocol error for " + new String(input, 0, Math.min(80, input.length), StandardCharsets.ISO_8859_1));
    }

    private static byte[] bulkRequest(int... lengths) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(ascii("*" + lengths.length + "\r\n"));
        for (int len : lengths) {
            b.writeBytes(ascii("$" + len + "\r\n"));
            b.writeBytes(new byte[len]);
            b.writeBytes(ascii("\r\n"));
        }
        return b.toByteArray();
    }

    @Test
    void parsesArraysOfBulkStringsAndInlineCommandsPipelined() throws Exception {
        String pipelined = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n" + "PING\r\n" + "*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
                + "ECHO  \"a b\\x41\\n\"  'it\\'s'\n" + "*0\r\n" + "*-1\r\n" + "\r\n";
        assertThat(parseAll(ascii(pipelined))).containsExactly(List.of("SET", "k", "hello"), List.of("PING"), List.of("GET", ""),
                List.of("ECHO", "a bA\n", "it's"), List.of(), List.of(), List.of());
    }

    @Test
    void aRequestSplitAnywhereIsParsedOnceComplete() throws Exception {
        byte[] input = ascii("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\nINCR counter\r\n");
        for (int split = 0; split <= input.length; split++) {
            // The same parser sees the bytes arrive: first up to the split, then byte by byte.
            RespParser parser = new RespParser();
            List<List<String>> got = new ArrayList<>();
            int start = 0;
            for (int available = split; available <= input.length; available++) {
                for (RespParser.Request r; (r = parser.next(input, start, available)) != null; ) {
                    start += r.length();
                    got.add(strings(r));
                }
            }
            assertThat(got).as("split at %d", split).containsExactly(List.of("SET", "key", "0123456789"), List.of("INCR", "counter"));
        }
    }

    @Test
    void bulkStringsUpToTheLimitAreAcceptedAndOneByteMoreIsNot() throws Exception {
        assertThat(parseAll(bulkRequest(RespParser.MAX_BULK)).get(0).get(0)).hasSize(RespParser.MAX_BULK);
        assertThat(error(ascii("*1\r\n$" + (RespParser.MAX_BULK + 1) + "\r\n"))).isEqualTo("invalid bulk length");
        assertThat(error("*1\r\n$-1\r\n")).isEqualTo("invalid bulk length");
        assertThat(error("*1\r\n$99999999999999999999999\r\n")).isEqualTo("invalid bulk length");
    }

    @Test
    void arrayCountsAreBoundedBeforeAnythingIsAllocated() throws Exception {
        RespParser parser = new RespParser();
        assertThat(parser.next(ascii("*" + RespParser.MAX_ELEMENTS + "\r\n"), 0, ("*" + RespParser.MAX_ELEMENTS + "\r\n").length()))
                .as("the largest count is accepted and waits for its elements").isNull();
        assertThat(error("*" + (RespParser.MAX_ELEMENTS + 1) + "\r\n")).isEqualTo("invalid multibulk length");
        assertThat(error("*2147483648\r\n")).isEqualTo("invalid multibulk length");
        assertThat(error("*" + "9".repeat(40))).isEqualTo("too big mbulk count string");
        assertThat(error("*1\r\n$" + "1".repeat(40))).isEqualTo("too big bulk count string");
    }

    @Test
    void aRequestOverAllBytesLimitIsRefusedAsSoonAsItsSizeIsKnown() {
        int[] nine = new int[9];
        java.util.Arrays.fill(nine, RespParser.MAX_BULK);
        byte[] request = bulkRequest(nine);
        // Only the first eight elements and the ninth's header are there: the announced end is already too far.
        int upToNinthHeader = request.length - RespParser.MAX_BULK - 2;
        RespParser parser = new RespParser();
        assertThatThrownBy(() -> parser.next(request, 0, upToNinthHeader)).isInstanceOf(RespProtocolException.class)
                .hasMessage("request larger than " + RespParser.MAX_REQUEST + " bytes");
    }

    @Test
    void inlineCommandsAreBoundedTo64KiB() throws Exception {
        String longest = "ECHO " + "x".repeat(RespParser.MAX_INLINE - 5);
        assertThat(parseAll(ascii(longest + "\n")).get(0).get(1)).hasSize(RespParser.MAX_INLINE - 5);
        assertThat(error("x".repeat(RespParser.MAX_INLINE + 1))).isEqualTo("too big inline request");
        assertThat(error("x".repeat(RespParser.MAX_INLINE + 1) + "\n")).isEqualTo("too big inline request");
    }

    @Test
    void garbageGetsAPreciseError() {
        assertThat(error("*1\r\nfoo\r\n")).isEqualTo("expected '$', got 'f'");
        assertThat(error(new byte[] {'*', '1', '\r', '\n', 0})).isEqualTo("expected '$', got '\\x00'");
        assertThat(error("*abc\r\n")).isEqualTo("invalid multibulk length");
        assertThat(error("*01\r\n")).isEqualTo("invalid multibulk length");
        assertThat(error("*+1\r\n")).isEqualTo("invalid multibulk length");
        assertThat(error("*1\rX")).isEqualTo("expected '\\n' after '\\r' in a mbulk count");
        assertThat(error("*1\r\n$3\r\nfooXY")).isEqualTo("bulk string of 3 bytes not followed by CRLF");
        assertThat(error("SET \"k v\n")).isEqualTo("unbalanced quotes in request");
        assertThat(error("SET \"k\"v\n")).isEqualTo("unbalanced quotes in request");
        assertThat(error("SET 'k\n")).isEqualTo("unbalanced quotes in request");
    }

    @Test
    void strictIntegersAreRedisOnes() {
        assertThat(RespParser.parseStrictLong(ascii("9223372036854775807"), 0, 19)).isEqualTo(Long.MAX_VALUE);
        assertThat(RespParser.parseStrictLong(ascii("-9223372036854775808"), 0, 20)).isEqualTo(Long.MIN_VALUE);
        for (String bad : List.of("9223372036854775808", "-9223372036854775809", "", "-", "-0", "007", "+1", " 1", "1 ", "1a")) {
            assertThat(RespParser.parseStrictLong(ascii(bad), 0, bad.length())).as("'%s'", bad).isNull();
        }
    }

    /**
     * Random bytes, and valid requests with random bytes changed, fed in random pieces: the parser returns
     * requests, waits, or throws a protocol error, never anything else, and never allocates much more than the
     * input it was given.
     */
    @Test
    void randomInputIsParsedOrRejectedWithoutLargeAllocations() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long me = Thread.currentThread().threadId();
        Random random = new Random(20261123);
        byte[] valid = ascii("*3\r\n$3\r\nSET\r\n$12\r\nkey:__rand__\r\n$3\r\nxyz\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\nPING \"a\" 'b'\r\n");
        int rejected = 0, parsed = 0;
        for (int round = 0; round < 20_000; round++) {
            byte[] input;
            switch (round % 3) {
                case 0 -> {
                    input = new byte[random.nextInt(200)];
                    random.nextBytes(input);
                }
                case 1 -> {
                    input = valid.clone();
                    for (int i = random.nextInt(4); i >= 0; i--) input[random.nextInt(input.length)] = (byte) random.nextInt(256);
                }
                default -> {
                    // Headers with random digits exercise the length checks.
                    StringBuilder b = new StringBuilder();
                    for (int i = random.nextInt(5); i >= 0; i--) {
                        b.append(random.nextBoolean() ? '*' : '$').append(random.nextLong() % (random.nextBoolean() ? 10 : Long.MAX_VALUE))
                                .append(random.nextInt(10) == 0 ? "\n" : "\r\n");
                    }
                    input = ascii(b.toString());
                }
            }
            long before = threads.getThreadAllocatedBytes(me);
            RespParser parser = new RespParser();
            int start = 0, available = 0;
            try {
                while (available < input.length) {
                    available = Math.min(input.length, available + 1 + random.nextInt(64));
                    for (RespParser.Request r; (r = parser.next(input, start, available)) != null; ) {
                        start += r.length();
                        parsed++;
                    }
                }
            } catch (RespProtocolException e) {
                rejected++;
            }
            long allocated = threads.getThreadAllocatedBytes(me) - before;
            assertThat(allocated).as("bytes allocated parsing %d random bytes", input.length).isLessThan(64 * 1024 + 64L * input.length);
        }
        assertThat(rejected).as("inputs rejected").isGreaterThan(1_000);
        assertThat(parsed).as("requests parsed").isGreaterThan(1_000);
    }
}
