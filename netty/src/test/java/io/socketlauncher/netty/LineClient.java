package io.socketlauncher.netty;

import io.socketlauncher.cluster.Cluster;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A client of the tests' line service ({@link LineServer}) through the proxy's service address, from client host 1. */
record LineClient(Socket socket, BufferedReader in, PrintWriter out) implements AutoCloseable {
    static LineClient connect(Cluster cluster) throws Exception {
        Socket socket = cluster.client(1).namespace().call(() -> new Socket(cluster.service().getAddress(), cluster.service().getPort()));
        socket.setSoTimeout(30_000);
        return new LineClient(socket, new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)),
                new PrintWriter(socket.getOutputStream(), true, StandardCharsets.US_ASCII));
    }

    String ask(String line) throws IOException {
        out.println(line);
        return in.readLine();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
