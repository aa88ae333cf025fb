#!/usr/bin/env python3
"""Issue 13's burst check: COUNT OPTIONS sent at once to a server running burst.cfg (each
waits 1 s at the HTTP service), while a probe sends OPTIONS sip:probe every 20 ms; prints
when the last query was answered and the probe's latency. Usage: burst.py PORT [COUNT]
  python3 Tests/Helpers/http_test_server.py          # prints HTTPPORT
  sed "s/HTTPPORT/<that>/; s/PORT/5520/" Benchmarks/http/burst.cfg > /tmp/burst.cfg
  .build/release/respite -f /tmp/burst.cfg -DD -E &
  python3 Benchmarks/http/burst.py 5520 100
"""
import sys
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 5520
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 100
import socket,time,threading
def msg(user, i, port):
    cid="h%d-%f"%(i,time.time())
    return (f"OPTIONS sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{cid}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); s.settimeout(5); port=s.getsockname()[1]
p=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); p.bind(("127.0.0.1",0)); p.settimeout(1); pport=p.getsockname()[1]
lat=[]
stop=False
def probe():
    i=0
    while not stop:
        t=time.time(); p.sendto(msg("probe",i,pport),("127.0.0.1",PORT))
        try: p.recv(65535); lat.append((time.time()-t)*1000)
        except Exception: lat.append(1e9)
        i+=1; time.sleep(0.02)
th=threading.Thread(target=probe); th.start()
time.sleep(0.2)
t0=time.time()
for i in range(COUNT): s.sendto(msg("q",i,port),("127.0.0.1",PORT))
got=0; last=0
while got<COUNT:
    d=s.recv(65535).decode()
    if d.startswith("SIP/2.0 200"): got+=1; last=time.time()-t0
stop=True; th.join()
lat.sort()
print("%d slow queries:" % COUNT, " all answered %d, last at %.3f s; OPTIONS probes %d, max %.2f ms, p99 %.2f ms" % (got,last,len(lat),lat[-1],lat[int(len(lat)*0.99)-1]))
