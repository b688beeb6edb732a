import java.io.Serializable;
import java.util.Objects;

/** A Java bean that travels as a Hessian typed map / object. */
public class Person implements Serializable {
    public String name;
    public int age;

    public Person() {
    }

    public Person(String name, int age) {
        this.name = name;
        this.age = age;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Person && Objects.equals(((Person) other).name, name) && ((Person) other).age == age;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, age);
    }

    @Override
    public String toString() {
        return "Person(" + name + ", " + age + ")";
    }
}
