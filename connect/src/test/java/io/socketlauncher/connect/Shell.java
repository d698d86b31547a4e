package io.socketlauncher.connect;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion, failing with its output when it exits non-zero or hangs. */
final class Shell {
    record Result(int exitCode, String stdout, String stderr) {
    }

    private Shell() {
    }

    static String run(List<String> command) throws IOException {
        Result r = runAllowingFailure(command);
        if (r.exitCode() != 0) throw new IOException(String.join(" ", command) + " exited " + r.exitCode() + ": " + r.stderr().strip() + r.stdout().strip());
        return r.stdout();
    }

    static Result runAllowingFailure(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 120 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return new Result(p.exitValue(), out.join(), err.join());
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
