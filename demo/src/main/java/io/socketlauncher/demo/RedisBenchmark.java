package io.socketlauncher.demo;

import io.socketlauncher.testbed.Host;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * One run of redis-benchmark in a client namespace, with its CSV output parsed: requests per second of each test,
 * and every error it reported. redis-benchmark prints "Error from server: ..." (or "Error: ..." for a broken
 * connection) on stderr and exits with 1 at the first error, so the exit status counts too.
 */
final class RedisBenchmark {
    /** The outcome: rps per test in the order run, the error lines, the exit status. */
    record Result(Map<String, Double> rps, List<String> errors, int exitCode, long requests, double seconds) {
        boolean ok() {
            return exitCode == 0 && errors.isEmpty();
        }
    }

    static final String TESTS = "ping,set,get,incr";
    /** -t ping runs two tests, PING_INLINE and PING_MBULK. */
    static final int TESTS_RUN = 5;

    private final List<String> testsDone = new CopyOnWriteArrayList<>();

    /** The tests finished so far in this run, for the live progress. */
    List<String> testsDone() {
        return testsDone;
    }

    Result run(Host client, InetSocketAddress service, int connections, int requestsPerTest, int pipeline,
               long timeoutSeconds) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("redis-benchmark", "-h", service.getAddress().getHostAddress(),
                "-p", Integer.toString(service.getPort()), "-c", Integer.toString(connections),
                "-n", Integer.toString(requestsPerTest), "-t", TESTS, "--csv"));
        if (pipeline > 1) argv.addAll(List.of("-P", Integer.toString(pipeline)));
        long started = System.nanoTime();
        Process p = client.startWithOutput(argv.toArray(String[]::new));
        Map<String, Double> rps = new LinkedHashMap<>();
        List<String> errors = new CopyOnWriteArrayList<>();
        Thread err = Thread.ofPlatform().daemon().name("redis-benchmark-stderr").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!line.isBlank()) errors.add(line.strip());
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.split(",");
                if (f.length < 2 || f[0].equals("\"test\"")) continue;
                String test = f[0].replace("\"", "");
                try {
                    rps.put(test, Double.parseDouble(f[1].replace("\"", "")));
                    testsDone.add(test);
                } catch (NumberFormatException e) {
                    errors.add("unreadable redis-benchmark line: " + line);
                }
            }
        }
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            errors.add("redis-benchmark did not finish within " + timeoutSeconds + " s");
        }
        err.join(5_000);
        int exit = p.isAlive() ? -1 : p.exitValue();
        if (exit != 0 && errors.isEmpty()) errors.add("redis-benchmark exited with " + exit);
        long done = (long) requestsPerTest * rps.size();
        return new Result(rps, List.copyOf(errors), exit, done, (System.nanoTime() - started) / 1e9);
    }
}
