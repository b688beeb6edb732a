import com.caucho.hessian.client.HessianProxyFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Caucho's HessianProxyFactory driven line by line from stdin:
 *   "<id> <mode> <url> <check>"  ->  "<id> OK <text>" or "<id> ERR <exception class>: <message>"
 * mode: "default" (a Hessian 1 call asking for a Hessian 2 reply, Caucho's default),
 * "h2call" (Hessian 2 call), "h1reply" (Hessian 1 call and reply); "+auth" adds user / secret.
 * Prints "READY" first; exits when stdin closes.
 */
public class HessianJavaClient {
    interface Check {
        String run(InteropService service) throws Exception;
    }

    static String esc(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof byte[]) {
            return "byte[" + ((byte[]) value).length + "]";
        }
        if (value instanceof Date) {
            return "Date(" + ((Date) value).getTime() + ")";
        }
        String text = String.valueOf(value);
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            if (c >= 0x20 && c < 0x7f) {
                out.append(c);
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        return out.length() > 300 ? out.substring(0, 300) + "..." : out.toString();
    }

    static String same(Object sent, Object got) {
        boolean equal = sent instanceof byte[] && got instanceof byte[]
            ? Arrays.equals((byte[]) sent, (byte[]) got)
            : Objects.equals(sent, got);
        if (sent instanceof Double && got instanceof Double) {
            equal = Double.doubleToRawLongBits((Double) sent) == Double.doubleToRawLongBits((Double) got);
        }
        return equal ? "same " + esc(got) : "DIFFERENT sent " + esc(sent) + " got " + esc(got);
    }

    static String big(String unit, int count) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < count; i++) {
            out.append(unit);
        }
        return out.toString();
    }

    static final Map<String, Check> CHECKS = new LinkedHashMap<>();

    static void check(String name, Check check) {
        CHECKS.put(name, check);
    }

    static {
        check("null", s -> same(null, s.echo(null)));
        check("true", s -> same(true, s.echoBool(true)));
        check("false", s -> same(false, s.echoBool(false)));
        for (int value : new int[] {0, 1, -16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144,
                                    Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            check("int:" + value, s -> same(value, s.echoInt(value)));
            check("objint:" + value, s -> same(value, s.echo(value)));
        }
        for (long value : new long[] {0L, 15L, -8L, 2047L, 262143L, 2147483647L, 2147483648L,
                                      1L << 40, Long.MAX_VALUE, Long.MIN_VALUE}) {
            check("long:" + value, s -> same(value, s.echoLong(value)));
            check("objlong:" + value, s -> same(value, s.echo(value)));
        }
        for (double value : new double[] {0.0, 1.0, -1.0, 12.0, 300.0, 0.25, 3.125, 1000.5, 0.001,
                                          1e300, -2.5e-300, Double.MAX_VALUE, Double.MIN_VALUE,
                                          Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            check("double:" + value, s -> same(value, s.echoDouble(value)));
        }
        check("string:empty", s -> same("", s.echoString("")));
        check("string:ascii", s -> same("hello", s.echoString("hello")));
        check("string:latin", s -> same("caf\u00e9", s.echoString("caf\u00e9")));
        check("string:euro", s -> same("\u20ac", s.echoString("\u20ac")));
        check("string:emoji", s -> same("\ud83d\ude00", s.echoString("\ud83d\ude00")));
        check("string:emoji-length", s -> String.valueOf(s.stringLength("a\ud83d\ude00b")));
        check("string:python-repeat", s -> same(big("\ud83d\ude00", 3), s.repeat("\ud83d\ude00", 3)));
        check("string:long-ascii", s -> same(big("abcdefgh", 20000), s.echoString(big("abcdefgh", 20000))));
        check("string:long-mixed", s -> {
            String value = big("x\u00e9\u20ac\ud83d\ude00", 9000) + "y" + big("\ud83d\ude00", 20000);
            return same(value, s.echoString(value)) + " " + s.stringLength(value);
        });
        check("bytes:empty", s -> same(new byte[0], s.echoBytes(new byte[0])));
        check("bytes:small", s -> same(new byte[] {0, 1, -1, 127}, s.echoBytes(new byte[] {0, 1, -1, 127})));
        check("bytes:large", s -> {
            byte[] value = new byte[100000];
            for (int i = 0; i < value.length; i++) {
                value[i] = (byte) (i * 7);
            }
            return same(value, s.echoBytes(value));
        });
        check("date:millis", s -> same(new Date(1600000000123L), s.echoDate(new Date(1600000000123L))));
        check("date:minute", s -> same(new Date(26666666L * 60000L), s.echoDate(new Date(26666666L * 60000L))));
        check("date:before-1970", s -> same(new Date(-86400000L * 365 * 30 - 1), s.echoDate(new Date(-86400000L * 365 * 30 - 1))));
        check("list:empty", s -> same(new ArrayList<>(), s.echoList(new ArrayList<>())));
        check("list:mixed", s -> {
            List<Object> value = new ArrayList<>(Arrays.asList(1, "a", null, true, 2.5));
            return same(value, s.echoList(value));
        });
        check("list:nested", s -> {
            List<Object> inner = new ArrayList<>(Arrays.asList(1, 2));
            List<Object> value = new ArrayList<>(Arrays.asList(inner, new ArrayList<>(), "x"));
            return same(value, s.echoList(value));
        });
        check("list:shared", s -> {
            List<Object> inner = new ArrayList<>(Arrays.asList("shared"));
            List<Object> value = new ArrayList<>(Arrays.asList(inner, inner));
            List<Object> got = s.echoList(value);
            return same(value, got) + " identical=" + (got.get(0) == got.get(1));
        });
        check("map:empty", s -> same(new HashMap<>(), s.echoMap(new HashMap<>())));
        check("map:mixed", s -> {
            Map<Object, Object> value = new HashMap<>();
            value.put("a", 1);
            value.put("b", null);
            value.put(7, "seven");
            value.put("list", new ArrayList<>(Arrays.asList(1, 2)));
            return same(value, s.echoMap(value));
        });
        check("map:nested", s -> {
            Map<Object, Object> inner = new HashMap<>();
            inner.put("deep", new HashMap<>());
            Map<Object, Object> value = new HashMap<>();
            value.put("inner", inner);
            return same(value, s.echoMap(value));
        });
        check("person:echo", s -> same(new Person("Ann", 42), s.echoPerson(new Person("Ann", 42))));
        check("person:make", s -> same(new Person("Bob", 7), s.makePerson("Bob", 7)));
        check("describe:person", s -> s.describe(new Person("Ann", 42)));
        check("describe:long", s -> s.describe(1L << 40));
        check("describe:int", s -> s.describe(5));
        check("describe:bytes", s -> s.describe(new byte[] {1, 2, 3}));
        check("describe:date", s -> s.describe(new Date(1600000000123L)));
        check("describe:list", s -> s.describe(new ArrayList<>(Arrays.asList(1, "a"))));
        check("describe:double", s -> s.describe(2.5));
        check("describe:emoji", s -> s.describe("\ud83d\ude00"));
        check("add", s -> String.valueOf(s.add(2, 3)));
        check("nothing", s -> esc(s.nothing()));
        check("fail", s -> s.fail("boom \u00e9"));
        check("missing", s -> s.missing());
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        System.out.println("READY");
        System.out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.trim().split(" ", 4);
            if (parts.length < 4) {
                System.out.println("? ERR bad command: " + esc(line));
                System.out.flush();
                continue;
            }
            String id = parts[0];
            String mode = parts[1];
            String result;
            try {
                Check check = CHECKS.get(parts[3]);
                if (check == null) {
                    throw new IllegalArgumentException("no check " + parts[3]);
                }
                HessianProxyFactory factory = new HessianProxyFactory();
                factory.setHessian2Request(mode.contains("h2call"));
                factory.setHessian2Reply(!mode.contains("h1reply"));
                if (mode.contains("auth")) {
                    factory.setUser("user");
                    factory.setPassword("secret");
                }
                factory.setReadTimeout(20000);
                InteropService service = (InteropService) factory.create(InteropService.class, parts[2]);
                result = "OK " + esc(check.run(service));
            } catch (Throwable e) {
                Throwable shown = e;
                while (shown instanceof java.lang.reflect.UndeclaredThrowableException && shown.getCause() != null) {
                    shown = shown.getCause();
                }
                result = "ERR " + shown.getClass().getName() + ": " + esc(shown.getMessage());
            }
            System.out.println(id + " " + result);
            System.out.flush();
        }
    }
}
