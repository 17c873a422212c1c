package guard_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/guard"
)

// Example wires a Dialer into a fasthttp client from flag values.
func Example() {
	allow, err := guard.ParsePatterns("*.example.com, 127.0.0.1")
	if err != nil {
		panic(err)
	}
	deny, err := guard.ParsePrefixes(guard.DefaultDenyNetsCSV + ",10.0.0.0/8")
	if err != nil {
		panic(err)
	}
	d, err := guard.New(guard.Policy{AllowHosts: allow, DenyNets: deny}, guard.NewResolver(""))
	if err != nil {
		panic(err)
	}
	client := &fasthttp.Client{DialTimeout: d.DialTimeout}
	_ = client

	for _, host := range []string{"api.example.com", "example.com", "169.254.169.254", "127.0.0.1"} {
		err := d.AllowHost(host)
		fmt.Printf("%s denied=%v\n", host, errors.Is(err, guard.ErrDenied))
	}
	_, err = d.DialTimeout("[fd00:ec2::254]:80", time.Second)
	fmt.Println(err)
	// Output:
	// api.example.com denied=false
	// example.com denied=true
	// 169.254.169.254 denied=true
	// 127.0.0.1 denied=false
	// guard: upstream denied by policy: host "fd00:ec2::254" matches no allow-hosts pattern
}

func ExampleParsePrefixes() {
	nets, err := guard.ParsePrefixes("169.254.0.0/16, fd00:ec2::254, 10.1.2.3/8")
	fmt.Println(nets, err)
	_, err = guard.ParsePrefixes("10.0.0.0/33")
	fmt.Println(err)
	// Output:
	// [169.254.0.0/16 fd00:ec2::254/128 10.0.0.0/8] <nil>
	// guard: bad CIDR "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range
}
