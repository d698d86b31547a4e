import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A Java client (dual-stack sockets: IPv4 goes out as ::ffff:a.b.c.d) asking redis which server it is. */
public class JavaClient {
    public static void main(String[] args) throws Exception {
        try (Socket s = new Socket(args[0], Integer.parseInt(args[1]))) {
            OutputStream out = s.getOutputStream();
            out.write("GET who\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] reply = new byte[64];
            int n = 0;
            while (n < reply.length) {
                int r = in.read(reply, n, reply.length - n);
                if (r < 0) break;
                n += r;
                if (new String(reply, 0, n, StandardCharsets.US_ASCII).split("\r\n").length >= 2) break;
            }
            System.out.println(new String(reply, 0, n, StandardCharsets.US_ASCII).split("\r\n")[1]);
        }
    }
}
