package io.socketlauncher.proxy;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The kernel's route towards a destination: the interface it leaves by and the source address it would use (a
 * backend's full-NAT address, unless its service names one).
 */
record Route(String device, InetAddress source) {
    private static final Pattern SRC = Pattern.compile("\\bsrc ([0-9a-fA-F.:]+)");
    private static final Pattern DEV = Pattern.compile("\\bdev ([A-Za-z0-9_.@-]{1,15})\\b");

    static Route towards(String namespace, InetAddress destination) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (namespace != null) cmd.addAll(List.of("-n", namespace));
        cmd.addAll(List.of(destination instanceof Inet6Address ? "-6" : "-4", "-o", "route", "get", destination.getHostAddress()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
        }
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("ip route get " + destination.getHostAddress() + " did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        Matcher src = SRC.matcher(out), dev = DEV.matcher(out);
        if (p.exitValue() != 0 || !src.find() || !dev.find()) {
            throw new IOException("no route (or no source address) towards backend " + destination.getHostAddress() + ": " + out.strip());
        }
        return new Route(dev.group(1), InetAddress.ofLiteral(src.group(1)));
    }
}
