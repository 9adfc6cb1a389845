"""Turn the hand-written pipe-delimited source (src/*.txt) into dev.yaml/test.yaml and print counts."""
import glob, json, sys, collections, yaml
REG = yaml.safe_load(open('../../../units/data/jiading.yaml'))
UNITS = {u['code']: u for u in REG['units']}
TOWNS = [c for c, u in UNITS.items() if u['kind'] == 'subdistrict']
TOWN_WORDS = {'xinchenglu': ['新成路街道'], 'zhenxin': ['真新'], 'jiadingzhen': ['嘉定镇'], 'nanxiang': ['南翔'],
              'anting': ['安亭'], 'malu': ['马陆'], 'xuhang': ['徐行'], 'huating': ['华亭'], 'waigang': ['外冈'],
              'jiangqiao': ['江桥'], 'industrial_zone': ['工业区'], 'juyuan': ['菊园']}
TAGS = ['old_name', 'ambiguous', 'multi_issue', 'cannot_solve', 'no_town']
ents, cases = {}, []
for fn in sorted(glob.glob('src/*.txt')):
    for ln in open(fn, encoding='utf-8'):
        ln = ln.rstrip('\n')
        if not ln.strip() or ln.startswith('#'):
            continue
        p = ln.split('|')
        if p[0] == 'E':
            ents[p[1]] = dict(name=p[2], registered=None if p[3] == 'null' else p[3], file=p[4])
            continue
        assert len(p) == 10, (fn, ln)
        key, day, ent, phone, addr, lead, town, voice, text, extra = p[0], int(p[1]), p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9:]
        ex = collections.defaultdict(list)
        for kv in '|'.join(extra).split(';'):
            if kv.strip():
                k, v = kv.split('=', 1)
                ex[k.strip()].append(v.strip())
        cases.append(dict(key=key, day=day, ent=ent, phone=phone, address=addr, lead=lead, town=town, voice=voice, text=text, ex=ex))
keys = collections.Counter(c['key'] for c in cases)
assert all(v == 1 for v in keys.values()), [k for k, v in keys.items() if v > 1]
out = {}
nid = 1
report = {}
for f in ['dev', 'test']:
    fc = sorted([c for c in cases if ents[c['ent']]['file'] == f], key=lambda c: (c['day'], c['key']))
    k2id = {}
    for c in fc:
        k2id[c['key']] = nid; c['id'] = nid; nid += 1
    rows = []
    for c in fc:
        assert c['lead'] == 'territorial' or c['lead'] in UNITS and UNITS[c['lead']]['kind'] != 'subdistrict', c
        assert c['town'] in TOWNS, c
        assert ents[c['ent']]['registered'] in TOWNS + [None]
        named = any(w in c['address'] for w in TOWN_WORDS[c['town']])
        tags = []
        for t in c['ex'].get('t', []):
            tags += t.split(',')
        tags = [t for t in TAGS if t in tags or (t == 'no_town' and not named)]
        assert not ('no_town' in tags and named), c
        r = dict(id=c['id'], day=c['day'], ent=c['ent'], phone=c['phone'], address=c['address'], lead=c['lead'],
                 town=c['town'], named=named, voice=c['voice'], text=c['text'])
        if tags: r['tags'] = tags
        if 'alt' in c['ex']:
            a = c['ex']['alt'][0]; assert a in UNITS and a != c['lead'], c; r['alt'] = a
        for k, name in (('r', 'repeat_of'), ('n', 'near_miss')):
            if k in c['ex']:
                tgt = c['ex'][k][0]
                assert tgt in k2id, (c['key'], tgt)
                t = [x for x in fc if x['key'] == tgt][0]
                assert t['day'] <= c['day'] and k2id[tgt] < c['id'], c['key']
                if k == 'r': assert t['ent'] == c['ent'], c['key']
                else: assert t['ent'] == c['ent'] or t['phone'] == c['phone'], c['key']
                r[name] = k2id[tgt]
        if 'rb' in c['ex']:
            assert c['ex']['rb'][0] in TOWNS and c['ex']['rb'][0] == c['town'] or c['ex']['rb'][0] in TOWNS
            r['returned_by'] = c['ex']['rb'][0]; r['return_reason'] = c['ex']['rr'][0]
        assert c['voice'] in ['transcript', 'app', 'letter', 'terse', 'angry', 'long'], c
        rows.append(r)
    # repeat matters: root of chain
    root = {}
    for r in rows:
        root[r['id']] = root[r['repeat_of']] if 'repeat_of' in r else r['id']
    used = sorted({c['ent'] for c in fc})
    st = dict(appeals=len(rows), enterprises=len(used), repeats=sum('repeat_of' in r for r in rows),
              matters_with_repeats=len({root[r['id']] for r in rows if 'repeat_of' in r}),
              near_misses=sum('near_miss' in r for r in rows), returned=sum('returned_by' in r for r in rows),
              tags=dict(collections.Counter(t for r in rows for t in r.get('tags', []))),
              voice=dict(collections.Counter(r['voice'] for r in rows)),
              lead=dict(sorted(collections.Counter(r['lead'] for r in rows).items())))
    report[f] = st
    hdr = open('src/header.txt', encoding='utf-8').read().replace('{FILE}', f)
    lines = [hdr.rstrip('\n'), 'enterprises:']
    for e in used:
        lines.append(f'  {e}: ' + json.dumps(dict(name=ents[e]['name'], registered=ents[e]['registered']), ensure_ascii=False))
    lines.append('cases:')
    for r in rows:
        lines.append('  - ' + json.dumps(r, ensure_ascii=False))
    open(f'{f}.yaml', 'w', encoding='utf-8').write('\n'.join(lines) + '\n')
    y = yaml.safe_load(open(f'{f}.yaml', encoding='utf-8'))
    assert len(y['cases'] or []) == len(rows)
allc = cases
lead_all = collections.Counter(c['lead'] for c in allc)
missing = [u for u, v in UNITS.items() if v['kind'] != 'subdistrict' and lead_all[u] < 2]
report['all'] = dict(appeals=len(allc), lead_under_2=missing,
                     repeats=report['dev']['repeats'] + report['test']['repeats'],
                     matters=report['dev']['matters_with_repeats'] + report['test']['matters_with_repeats'],
                     near=report['dev']['near_misses'] + report['test']['near_misses'],
                     returned=report['dev']['returned'] + report['test']['returned'],
                     tags=dict(collections.Counter(report['dev']['tags']) + collections.Counter(report['test']['tags'])),
                     enterprises=report['dev']['enterprises'] + report['test']['enterprises'])
print(json.dumps(report, ensure_ascii=False, indent=1))
