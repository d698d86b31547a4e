package io.socketlauncher.server.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.server.agent.AgentProtocol.Frame;
import io.socketlauncher.server.agent.AgentProtocol.Type;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.UnixSockets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The pool of connections to the agent, against a stand-in agent that answers when the test says. */
class AgentPrivilegesTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(30)
    void aConnectionWhoseExchangeEndsAfterCloseIsClosedNotPooled() throws Exception {
        Path path = dir.resolve("agent.sock");
        int listener = UnixSockets.socket();
        int agentSide = -1, passed = -1;
        try {
            UnixSockets.bind(listener, path.toString());
            Libc.listen(listener, 4);
            AgentPrivileges privileges = AgentPrivileges.connect(path);
            agentSide = Libc.accept(listener, Libc.SOCK_CLOEXEC);
            passed = UnixSockets.socket();
            int fd = passed;
            CompletableFuture<Void> resumed = CompletableFuture.runAsync(() -> {
                try {
                    privileges.resume(fd);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            Frame request = AgentProtocol.receive(agentSide);
            assertThat(request.type()).isEqualTo(Type.RESUME);
            Libc.closeQuietly(request.fd());
            privileges.close(); // while the exchange is under way
            AgentProtocol.send(agentSide, Type.RESUMED, new byte[0], -1);
            resumed.get(10, TimeUnit.SECONDS);

            assertThat(Libc.poll(agentSide, Libc.POLLIN, 5_000)).as("the agent's side hears the close").isNotZero();
            assertThat(AgentProtocol.receive(agentSide)).as("the connection ends instead of waiting in a closed pool").isNull();
        } finally {
            Libc.closeQuietly(agentSide);
            Libc.closeQuietly(passed);
            Libc.closeQuietly(listener);
        }
    }
}
