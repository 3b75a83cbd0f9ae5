/**
 * A Python program for a lab client: opens one TCP connection per port given (a port may
 * repeat), one after the other, keeping every one open, and prints `open`, `refused` or
 * `timeout` for each, one per line. IPv6 when the host is an IPv6 address.
 *
 *   lab.exec(client, ['python3', '-c', HOLD_CONNECTIONS, host, '22', '22', '8080'])
 */
export const HOLD_CONNECTIONS = `
import socket, sys
host, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
keep = []
for port in ports:
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
    s.settimeout(2)
    try:
        s.connect((host, port)); keep.append(s); print('open')
    except ConnectionRefusedError:
        print('refused')
    except socket.timeout:
        print('timeout')
`;
