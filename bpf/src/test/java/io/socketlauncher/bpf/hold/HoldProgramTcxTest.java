package io.socketlauncher.bpf.hold;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hold program is a TCX link on the interface's TC ingress: it shares the hook with other programs, and is
 * detached by closing it or by the death of the process holding it (kill -9 included), so nothing stale blocks
 * the next server on that interface.
 */
class HoldProgramTcxTest {
    private static Testbed tb;
    private static Host host;

    @BeforeAll
    static void up() throws Exception {
        tb = Testbed.builder().clients(1).servers(1).build();
        host = tb.server(1);
    }

    @AfterAll
    static void down() throws Exception {
        if (tb != null) tb.close();
    }

    private static int[] attachedIds() throws Exception {
        return host.namespace().call(() ->
                BpfProgram.tcxProgramIds(Libc.ifNameToIndex(host.linkToLb()), BpfProgram.TCX_INGRESS));
    }

    @Test
    void twoProgramsShareTheHookAndEachCloseDetachesItsOwn() throws Exception {
        assertThat(attachedIds()).isEmpty();
        HoldProgram first = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()));
        try (HoldProgram second = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()))) {
            int[] both = attachedIds();
            assertThat(both).hasSize(2).doesNotHaveDuplicates();
            first.close();
            assertThat(attachedIds()).containsExactly(both[1]);
        } finally {
            first.close();
        }
        assertThat(attachedIds()).isEmpty();
    }

    @Test
    void theLinkDiesWithItsProcessAndANewProgramAttaches() throws Exception {
        assertThat(attachedIds()).isEmpty();
        Process owner = host.startWithOutput(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), HoldProgramOwner.class.getName(), host.linkToLb());
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(owner.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).as("the owner's first line (stderr: %s)", line == null
                    ? new String(owner.getErrorStream().readAllBytes(), StandardCharsets.UTF_8) : "").isEqualTo("ATTACHED");
            assertThat(attachedIds()).hasSize(1);
        } finally {
            owner.destroyForcibly();
        }
        assertThat(owner.waitFor(30, TimeUnit.SECONDS)).as("the owner exited after SIGKILL").isTrue();
        // The kernel releases a dying process's files (and with the last reference the link) before the
        // parent can reap it; polled only in case the release is ever deferred.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (attachedIds().length > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(attachedIds()).as("programs left on the hook by the killed owner").isEmpty();
        try (HoldProgram next = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()))) {
            assertThat(attachedIds()).hasSize(1);
        }
    }
}
