import java.util.Date;
import java.util.List;
import java.util.Map;

/** The service both peers implement: Caucho's Java server and the Python exporter. */
public interface InteropService {
    Object echo(Object value);
    int echoInt(int value);
    long echoLong(long value);
    double echoDouble(double value);
    boolean echoBool(boolean value);
    String echoString(String value);
    byte[] echoBytes(byte[] value);
    Date echoDate(Date value);
    List<Object> echoList(List<Object> value);
    Map<Object, Object> echoMap(Map<Object, Object> value);
    Person echoPerson(Person value);
    Person makePerson(String name, int age);
    /** The receiving side's view of a value: its type and printed form. */
    String describe(Object value);
    /** Length in UTF-16 code units. */
    int stringLength(String value);
    String repeat(String unit, int count);
    int add(int a, int b);
    Object nothing();
    String fail(String message);
    /** Re-encode a received value with Caucho's own writer (version 1 or 2). */
    byte[] encode(int version, Object value);
    /** Not implemented by the Python service: calling it must fault cleanly. */
    String missing();
}
