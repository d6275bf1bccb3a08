import json, sys, math, statistics as st
def ci(d):
    n=len(d); m=sum(d)/n; s=st.stdev(d) if n>1 else 0
    t={19:2.093,23:2.069,11:2.201,7:2.365,15:2.131,47:2.012}.get(n-1,1.96)
    return m, t*s/math.sqrt(n)
rows=[json.loads(l) for f in sys.argv[1:] for l in open(f)]
by={}
for r in rows: by[(r['task'],r['row'])]=r
tasks=dict.fromkeys(r['task'] for r in rows)
for t in tasks:
    base=[r for r in rows if r['task']==t][0]
    print(f"== {t} (base {base['row']})")
    for r in rows:
        if r['task']!=t: continue
        es=r['energy_score']; p1=r['psnr'][0]
        dE=ci([a-b for a,b in zip(es,base['energy_score'])]); dP=ci([a-b for a,b in zip(p1,base['psnr'][0])])
        allp=sum(sum(x) for x in r['psnr'])/(len(r['psnr'])*len(p1))
        print(f"{r['row']:55s} ES {sum(es)/len(es):.4f} dES {dE[0]:+.4f}±{dE[1]:.4f} spread {r['spread_ratio']:.2f} PSNR1 {sum(p1)/len(p1):.2f} PSNRall {allp:.2f} dPSNR1 {dP[0]:+.2f}±{dP[1]:.2f} mean {sum(r['psnr_mean'])/len(p1):.2f} s {r['seconds_per_sample']:.3f}")
