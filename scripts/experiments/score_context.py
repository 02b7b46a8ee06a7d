#!/usr/bin/env python3
"""Experiment (not adopted; see BENCHMARKS.md): a second pass over the classifier's score sequence.

Fits a logistic regression on multi-scale summaries of out-of-fold cut probabilities (the
held-out cut lists of `audio-slicer evaluate BENCH/train --folds 5`), applies it to a model's
dev/test cut lists, and scores both with the same simplified planner (no pads, snapping or
boundary refinement, so its figures differ from `evaluate`'s; only the comparison counts).

    python3 scripts/experiments/score_context.py BENCH CV_OUT/cuts EVAL_OUT/cuts   # needs numpy
"""
import json,glob,sys,numpy as np
RES=0.01
def load(pred, split):
    out=[]
    for f in sorted(glob.glob(TRUTH+'/*.json')):
        t=json.load(open(f))
        if t['split']!=split: continue
        p=json.load(open(f"{pred}/{t['name']}.cuts.json"))
        segs=p['segments']
        c=np.array([(s['start']+s['end'])/2 for s in segs]); sc=np.array([s['score'] for s in segs])
        out.append((t,c,sc))
    return out
def truth_mask(iv,n):
    m=np.zeros(n,bool)
    for a,b in iv: m[max(0,int(round(a/RES))):min(n,int(round(b/RES)))]=True
    return m
def box(x,r):
    k=np.ones(2*r+1); num=np.convolve(x,k,'same'); den=np.convolve(np.ones_like(x),k,'same'); return num/den
def side(x,r,left):
    # mean of the r values strictly before (left) or after
    cs=np.concatenate([[0],np.cumsum(x)]); n=len(x); i=np.arange(n)
    if left: a=np.maximum(0,i-r); b=i
    else: a=i+1; b=np.minimum(n,i+1+r)
    cnt=np.maximum(1,b-a); v=(cs[b]-cs[a])/cnt; return np.where(b>a,v,0.5)
def runlen(flag,h):
    n=len(flag); out=np.zeros(n); i=0
    while i<n:
        j=i
        while j<n and flag[j]==flag[i]: j+=1
        out[i:j]=(j-i)*h; i=j
    return out
def feats(c,p,thr=0.75):
    h=np.median(np.diff(c)); lp=np.log(np.clip(p,1e-4,1-1e-4)/(1-np.clip(p,1e-4,1-1e-4)))
    r=lambda s:max(1,int(round(s/h)))
    f=[lp, p]
    for s in (0.5,1.5,4,10): f.append(box(p,r(s)))
    for s in (2,6): f+= [side(p,r(s),True), side(p,r(s),False)]
    fl=p>thr; rl=runlen(fl,h); f+=[np.log(rl+0.1), fl*np.log(rl+0.1)]
    F=np.stack(f,1); return F
def labels(t,c):
    n=int(round(t['raw_duration']/RES)); tk=truth_mask(t['kept'],n)
    idx=np.clip((c/RES).astype(int),0,n-1); return (~tk[idx]).astype(float)
def fit(X,y,l2=1e-2,it=3000,lr=0.1):
    mu=X.mean(0); sd=X.std(0)+1e-6; Z=(X-mu)/sd; Z=np.hstack([Z,np.ones((len(Z),1))]); w=np.zeros(Z.shape[1])
    for _ in range(it):
        q=1/(1+np.exp(-Z@w)); g=Z.T@(q-y)/len(y)+l2*np.r_[w[:-1],0]; w-=lr*g
    return lambda X2: 1/(1+np.exp(-(np.hstack([(X2-mu)/sd,np.ones((len(X2),1))])@w)))
def plan(t,c,p,thr,min_cut=0.5,min_keep=2.0):
    n=int(round(t['raw_duration']/RES)); tt=np.arange(n)*RES+RES/2
    idx=np.clip(np.searchsorted(c,tt),0,len(c)-1); idx0=np.clip(idx-1,0,len(c)-1)
    near=np.where(np.abs(c[idx0]-tt)<np.abs(c[idx]-tt),idx0,idx)
    cut=p[near]>thr
    def runs(m):
        d=np.diff(np.concatenate([[0],m.astype(np.int8),[0]])); return list(zip(np.flatnonzero(d==1),np.flatnonzero(d==-1)))
    for a,b in runs(cut):
        if (b-a)*RES<min_cut: cut[a:b]=False
    for a,b in runs(~cut):
        if (b-a)*RES<min_keep: cut[a:b]=True
    return ~cut
def score(data,probs,thr,**kw):
    tp=fp=fn=keep=0; per={}; kr=[]
    for (t,c,_),p in zip(data,probs):
        n=int(round(t['raw_duration']/RES)); tk=truth_mask(t['kept'],n); pk=plan(t,c,p,thr,**kw)
        tp+=((~pk)&(~tk)).sum(); fp+=((~pk)&tk).sum(); fn+=(pk&~tk).sum(); keep+=tk.sum(); kr.append((pk.mean(),tk.mean()))
        for d in t['defects']:
            m=truth_mask([(d['start'],d['end'])],n); q=per.setdefault(d['type'],[0,0]); q[0]+=(m&~pk).sum(); q[1]+=m.sum()
    pr=tp/max(1,tp+fp); rc=tp/max(1,tp+fn); kr=np.array(kr)
    return 'F1=%.3f lost=%.4f junk=%.3f kept=%.3f/%.3f '%(2*pr*rc/(pr+rc),fp/keep,1-rc,kr[:,0].mean(),kr[:,1].mean())+' '.join('%s=%.2f'%(k[:5],v[0]/v[1]) for k,v in sorted(per.items()))
if __name__=='__main__':
    TRUTH=sys.argv[1]+'/truth'; oof=sys.argv[2]; test=sys.argv[3]
    tr=load(oof,'train'); te=load(test,'test')
    X=np.vstack([feats(c,p) for _,c,p in tr]); y=np.concatenate([labels(t,c) for t,c,_ in tr])
    m=fit(X,y)
    print('base test ', score(te,[p for _,_,p in te],0.75))
    print('base train', score(tr,[p for _,_,p in tr],0.75))
    ps=[m(feats(c,p)) for _,c,p in te]; pt=[m(feats(c,p)) for _,c,p in tr]
    for thr in (0.5,0.6,0.7,0.75,0.8,0.9):
        print('stack %.2f test '%thr, score(te,ps,thr)); print('stack %.2f train'%thr, score(tr,pt,thr))
