#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rxe_report.py: rdma-core's test_odp on stock rxe and on rdma_rxe_odpm,
side by side, as one TAP section (run in the guest by rxe-init).

    rxe_report.py STOCK_LOG OURS_LOG
    rxe_report.py --self-test

Each log is the output of rdma-core's own run_tests.py -v (unittest's
verbose format). One TAP line per test, judged on our device with stock's
outcome beside it (judge()):

  - ours passes: ok;
  - both skip, for the same reason: ok # SKIP, with the reason rdma-core
    printed (report.sh then looks the test up in guest-test/allowed-skips);
  - both skip, for different reasons: not ok. allowed-skips names tests
    only, so a skip of ours for a reason of its own would pass unseen;
  - ours skips a test stock ran, whether stock passed or failed it: not
    ok (ours left untested what stock could test);
  - ours fails or errs: not ok.

Then the rules of the comparison: ours passes at least as many tests as
stock, every test stock passes passes on ours, the implicit-ODP tests pass
on ours and skip on stock, and each log's own summary line agrees with
what was parsed from it (a log that cannot be read is a failure).

--self-test prints TAP of judge() and parse() on made-up outcomes and logs:
the rules above, checked without a device.
"""
import os
import re
import sys
import tempfile

START = re.compile(r'^(test\w*) \(([\w.]+)\)')
RESULT = re.compile(r"(?:^|\.\.\. )(ok|FAIL|ERROR|skipped '(.*)'|skipped \"(.*)\""
                    r"|expected failure|unexpected success)$")
RAN = re.compile(r'^Ran (\d+) tests? in')
TOTAL = re.compile(r'^(OK|FAILED)(?: \((.*)\))?$')


def parse(path):
    """{name: (outcome, reason)}, and the counts of the summary lines"""
    results, order, current = {}, [], None
    ran, summary = None, None
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            m = START.match(line)
            if m and m.group(1) not in results:
                current = m.group(1)
                line = line[m.end():]
            m = RESULT.search(line)
            if m and current:
                word = m.group(1)
                if word.startswith('skipped'):
                    out, why = 'skip', m.group(2) or m.group(3) or ''
                elif word in ('ok', 'expected failure'):
                    out, why = 'pass', ''
                else:
                    out, why = 'fail', word
                results[current] = (out, why)
                order.append(current)
                current = None
                continue
            m = RAN.match(line)
            if m:
                ran = int(m.group(1))
            m = TOTAL.match(line)
            if m:
                summary = dict(kv.split('=') for kv in (m.group(2) or '').split(', ') if kv)
                summary['status'] = m.group(1)
    return results, order, ran, summary


def counts(results):
    c = {'pass': 0, 'skip': 0, 'fail': 0}
    for out, _ in results.values():
        c[out] += 1
    return c


def same_reason(a, b):
    """Do two skip reasons say the same, device names aside?"""
    dev = re.compile(r'\brxe\w*?\d+\b')
    return dev.sub('<dev>', a).strip() == dev.sub('<dev>', b).strip()


def judge(name, ours, stock):
    """One test's TAP verdict: (ok, text, skip reason or None).

    ours and stock are (outcome, reason) pairs as parse() gives them, with
    outcome 'pass', 'skip' or 'fail'."""
    (o_out, o_why), (s_out, s_why) = ours, stock
    stock_says = {'pass': 'stock passes', 'skip': f'stock skips: {s_why}',
                  'fail': f'stock: {s_why}'}[s_out]
    if o_out == 'pass':
        return True, f'{name} ({stock_says})', None
    if o_out == 'skip' and s_out == 'skip':
        if same_reason(o_why, s_why):
            return True, name, f'on both: {o_why}'
        return False, f'{name} (ours skips: {o_why}; stock skips for another reason: {s_why})', None
    if o_out == 'skip':
        # stock ran it (passed or failed): ours must run it too
        return False, f'{name} (ours skips: {o_why}; {stock_says})', None
    return False, f'{name} (ours: {o_why}; {stock_says})', None


def main():
    stock, s_order, s_ran, s_sum = parse(sys.argv[1])
    ours, o_order, o_ran, o_sum = parse(sys.argv[2])
    names = o_order + [n for n in s_order if n not in ours]
    lines = []

    def tap(ok, text, skip=None):
        lines.append(f"{'ok' if ok else 'not ok'} {len(lines) + 1} {text}" +
                     (f' # SKIP {skip}' if skip else ''))

    for name in names:
        tap(*judge(name, ours.get(name, ('fail', 'did not run on ours')),
                   stock.get(name, ('fail', 'did not run on stock'))))

    oc, sc = counts(ours), counts(stock)
    tap(oc['pass'] >= sc['pass'],
        f"ours passes at least as many as stock: {oc['pass']} against {sc['pass']}")
    lost = [n for n in stock if stock[n][0] == 'pass' and ours.get(n, ('',))[0] != 'pass']
    tap(not lost, 'every test stock passes passes on ours' +
        (f": not {', '.join(lost)}" if lost else ''))
    implicit = [n for n in names if 'implicit' in n]
    tap(implicit and all(ours.get(n, ('',))[0] == 'pass' for n in implicit),
        f'the {len(implicit)} implicit-ODP tests pass on ours')
    why = sorted({stock[n][1] for n in implicit if n in stock and stock[n][0] == 'skip'})
    tap(implicit and all(stock.get(n, ('',))[0] == 'skip' for n in implicit),
        f"the implicit-ODP tests skip on stock: {'; '.join(why) or 'no'}")
    for label, res, ran, summ in (('stock', stock, s_ran, s_sum), ('ours', ours, o_ran, o_sum)):
        c = counts(res)
        ok = (ran is not None and summ is not None and ran == len(res) and
              int(summ.get('skipped', 0)) == c['skip'] and
              int(summ.get('failures', 0)) + int(summ.get('errors', 0)) == c['fail'])
        tap(ok, f"the {label} log reads as run_tests.py summed it up: {len(res)} tests "
            f"of {ran}, {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped")

    print('TAP version 13')
    print(f'1..{len(lines)}')
    print(f"# stock rdma_rxe: {sc['pass']} passed, {sc['fail']} failed, {sc['skip']} skipped")
    print(f"# rdma_rxe_odpm:  {oc['pass']} passed, {oc['fail']} failed, {oc['skip']} skipped")
    print('\n'.join(lines))
    return 0


# A made-up run_tests.py -v log, in unittest's verbose format
SELF_TEST_LOG = """test_a (tests.test_odp.OdpTestCase.test_a) ... ok
test_b (tests.test_odp.OdpTestCase.test_b) ... skipped 'Create XRCD is not supported'
test_c (tests.test_odp.OdpTestCase.test_c) ... FAIL
test_d (tests.test_odp.OdpTestCase.test_d) ... ERROR

----------------------------------------------------------------------
Ran 4 tests in 0.123s

FAILED (failures=1, errors=1, skipped=1)
"""


def self_test():
    """TAP: judge() and parse() on made-up cases, one line per rule"""
    pas, fail = ('pass', ''), ('fail', 'FAIL')
    skip, other = ('skip', 'Create XRCD is not supported'), ('skip', 'ODP is not supported')
    # (what, ours, stock, verdict ours must get)
    cases = [
        ('ours passes, stock fails', pas, fail, True),
        ('ours passes, stock skips', pas, skip, True),
        ('both skip for the same reason', skip, skip, True),
        ('both skip for the same reason but the device name',
         ('skip', 'rxe_odpm0 has no XRC'), ('skip', 'rxe0 has no XRC'), True),
        ('both skip for different reasons', other, skip, False),
        ('ours skips, stock passes', skip, pas, False),
        ('ours skips, stock fails', skip, fail, False),
        ('ours skips, stock did not run it', skip, ('fail', 'did not run on stock'), False),
        ('ours fails, stock fails', fail, fail, False),
        ('ours fails, stock skips', fail, skip, False),
    ]
    lines = []
    for what, ours, stock, want in cases:
        ok, text, why = judge('test_x', ours, stock)
        good = ok == want and (why is not None) == (ok and ours[0] == 'skip')
        lines.append(f"{'ok' if good else 'not ok'} {len(lines) + 1} judge: {what}: "
                     f"{'ok' if want else 'not ok'} (got {'ok' if ok else 'not ok'}: {text})")
    with tempfile.NamedTemporaryFile('w', suffix='.log', delete=False) as f:
        f.write(SELF_TEST_LOG)
    try:
        res, order, ran, summary = parse(f.name)
    finally:
        os.unlink(f.name)
    want = {'test_a': pas, 'test_b': skip, 'test_c': ('fail', 'FAIL'), 'test_d': ('fail', 'ERROR')}
    good = (res == want and order == list(want) and ran == 4 and
            summary == {'failures': '1', 'errors': '1', 'skipped': '1', 'status': 'FAILED'})
    lines.append(f"{'ok' if good else 'not ok'} {len(lines) + 1} parse: a made-up log "
                 f"(got {res}, ran {ran}, {summary})")
    print('TAP version 13')
    print(f'1..{len(lines)}')
    print('\n'.join(lines))
    return 0 if all(x.startswith('ok') for x in lines) else 1


if __name__ == '__main__':
    sys.exit(self_test() if sys.argv[1:] == ['--self-test'] else main())
