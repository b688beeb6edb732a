import com.caucho.hessian.io.Hessian2Output;
import com.caucho.hessian.io.HessianOutput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Date;
import java.util.List;
import java.util.Map;

/** The Java implementation served by Caucho's HessianSkeleton. */
public class InteropServiceImpl implements InteropService {
    public Object echo(Object value) { return value; }
    public int echoInt(int value) { return value; }
    public long echoLong(long value) { return value; }
    public double echoDouble(double value) { return value; }
    public boolean echoBool(boolean value) { return value; }
    public String echoString(String value) { return value; }
    public byte[] echoBytes(byte[] value) { return value; }
    public Date echoDate(Date value) { return value; }
    public List<Object> echoList(List<Object> value) { return value; }
    public Map<Object, Object> echoMap(Map<Object, Object> value) { return value; }
    public Person echoPerson(Person value) { return value; }
    public Person makePerson(String name, int age) { return new Person(name, age); }

    public String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof byte[]) {
            return "byte[]:" + ((byte[]) value).length;
        }
        if (value instanceof Date) {
            return "java.util.Date:" + ((Date) value).getTime();
        }
        if (value instanceof Double) {
            return "java.lang.Double:" + Double.doubleToRawLongBits((Double) value);
        }
        return value.getClass().getName() + ":" + value;
    }

    public int stringLength(String value) { return value.length(); }

    public String repeat(String unit, int count) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < count; i++) {
            out.append(unit);
        }
        return out.toString();
    }

    public int add(int a, int b) { return a + b; }
    public Object nothing() { return null; }

    public String fail(String message) {
        throw new IllegalStateException(message);
    }

    public byte[] encode(int version, Object value) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            if (version == 1) {
                HessianOutput out = new HessianOutput(bytes);
                out.writeObject(value);
                out.flush();
            } else {
                Hessian2Output out = new Hessian2Output(bytes);
                out.writeObject(value);
                out.flush();
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public String missing() { return "java has it"; }
}
