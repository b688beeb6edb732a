import com.caucho.hessian.server.HessianSkeleton;
import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Caucho's HessianSkeleton behind the JDK's HTTP server on 127.0.0.1, port 0.
 * Prints "PORT n" once listening; exits when stdin closes.
 * Paths: /interop (open), /chunked (replies in chunked transfer encoding) and
 * /secure (HTTP basic: user / secret).
 * Arguments: [keystore.p12 password] to serve HTTPS instead of HTTP.
 */
public class HessianJavaServer {
    static final class SkeletonHandler implements HttpHandler {
        private final HessianSkeleton skeleton =
            new HessianSkeleton(new InteropServiceImpl(), InteropService.class);
        private final boolean chunked;

        SkeletonHandler(boolean chunked) {
            this.chunked = chunked;
        }

        public void handle(HttpExchange exchange) {
            try {
                if (!"POST".equals(exchange.getRequestMethod())) {
                    byte[] body = "Hessian requires POST".getBytes("UTF-8");
                    exchange.sendResponseHeaders(405, body.length);
                    exchange.getResponseBody().write(body);
                    return;
                }
                ByteArrayOutputStream reply = new ByteArrayOutputStream();
                try (InputStream in = exchange.getRequestBody()) {
                    skeleton.invoke(in, reply);
                } catch (Throwable e) {
                    byte[] body = ("Hessian call failed: " + e).getBytes("UTF-8");
                    exchange.sendResponseHeaders(500, body.length);
                    exchange.getResponseBody().write(body);
                    return;
                }
                byte[] body = reply.toByteArray();
                exchange.getResponseHeaders().set("Content-Type", "x-application/hessian");
                exchange.sendResponseHeaders(200, chunked ? 0 : body.length);
                OutputStream out = exchange.getResponseBody();
                out.write(body);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                exchange.close();
            }
        }
    }

    public static void main(String[] args) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", 0);
        HttpServer server;
        if (args.length >= 2) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (FileInputStream in = new FileInputStream(args[0])) {
                store.load(in, args[1].toCharArray());
            }
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, args[1].toCharArray());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(keys.getKeyManagers(), null, null);
            HttpsServer https = HttpsServer.create(address, 128);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        } else {
            server = HttpServer.create(address, 128);
        }
        SkeletonHandler handler = new SkeletonHandler(false);
        server.createContext("/interop", handler);
        server.createContext("/chunked", new SkeletonHandler(true));
        HttpContext secure = server.createContext("/secure", handler);
        secure.setAuthenticator(new BasicAuthenticator("interop") {
            public boolean checkCredentials(String user, String password) {
                return "user".equals(user) && "secret".equals(password);
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(16);
        server.setExecutor(pool);
        server.start();
        System.out.println("PORT " + server.getAddress().getPort());
        System.out.flush();
        while (System.in.read() != -1) {
            // run until the parent closes stdin
        }
        server.stop(0);
        pool.shutdownNow();
        System.exit(0);
    }
}
