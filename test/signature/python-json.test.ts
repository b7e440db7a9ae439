import { test } from 'tap'
import { MAX_DEPTH, compareCodePoints, pythonJson, pythonJsonFormsOfText, pythonNumber, pythonString } from '../../src/signature/python-json.js'
import { pythonJsonOfText } from '../helpers/signing.js'

test('strings: printable ASCII as is, the short escapes, everything else \\uXXXX in lower-case hex, astral as surrogate pairs', async (t) => {
  t.equal(pythonString('plain ~ text'), '"plain ~ text"')
  t.equal(pythonString('"\\/\b\f\n\r\t'), '"\\"\\\\/\\b\\f\\n\\r\\t"')
  t.equal(pythonString('\u0000\u001f\u007f\u00e9\u2028\uffff'), '"\\u0000\\u001f\\u007f\\u00e9\\u2028\\uffff"')
  t.equal(pythonString('😀'), '"\\ud83d\\ude00"')
  t.equal(pythonString('\ud800'), '"\\ud800"', 'a lone surrogate, as Python writes one')
})

test('keys sort by code point as Python sorts str, not by UTF-16 unit', async (t) => {
  const keys = ['😀', '\uffff', '\ue000', 'b', 'B', 'a', '', 'ab', '_']
  t.same([...keys].sort(compareCodePoints), ['', 'B', '_', 'a', 'ab', 'b', '\ue000', '\uffff', '😀'])
  t.same([...keys].sort(), ['', 'B', '_', 'a', 'ab', 'b', '😀', '\ue000', '\uffff'], 'UTF-16 order puts the astral one first')
})

test('numbers: integers in full, other numbers as Python repr writes them', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0'], [-0, '0'], [42, '42'], [-17, '-17'], [1e21, '1000000000000000000000'], [2 ** 70, '1180591620717411303424'],
    [0.1, '0.1'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [-2.5e-10, '-2.5e-10'], [5e-324, '5e-324'],
    [1 / 3, '0.3333333333333333'], [123.456, '123.456']
  ]
  for (const [value, written] of cases) t.equal(pythonNumber(value), written, String(value))
  for (const value of [Number.NaN, Infinity, -Infinity]) t.throws(() => pythonNumber(value), TypeError)
})

test('values: JSON.stringify rules for toJSON, undefined and functions; bigint as an int; sorted at every depth', async (t) => {
  const value = { z: undefined, f: () => 1, d: new Date(0), n: 10n ** 30n, b: [undefined, null, true, false], a: { y: 1, x: [{ q: 1, p: 2 }] } }
  t.equal(pythonJson(value), '{"a": {"x": [{"p": 2, "q": 1}], "y": 1}, "b": [null, null, true, false], "d": "1970-01-01T00:00:00.000Z", "n": 1000000000000000000000000000000}')
  t.equal(pythonJson(value, 'compact'), '{"a":{"x":[{"p":2,"q":1}],"y":1},"b":[null,null,true,false],"d":"1970-01-01T00:00:00.000Z","n":1000000000000000000000000000000}')
  t.equal(pythonJson({}), '{}')
  t.equal(pythonJson([]), '[]')
  t.throws(() => pythonJson(undefined), TypeError)
  let deep: unknown = 1
  for (let i = 0; i <= MAX_DEPTH; i++) deep = [deep]
  t.throws(() => pythonJson(deep), TypeError)
})

test('re-serialising a text keeps number literals, decodes and re-escapes strings, keeps the last of a repeated key', async (t) => {
  t.equal(pythonJsonOfText('{"b":1.0,"a":[1E5, -0, 1e-7, 12345678901234567890123],"c":"\\u00E9\\/é"}'),
    '{"a": [1E5, -0, 1e-7, 12345678901234567890123], "b": 1.0, "c": "\\u00e9/\\u00e9"}')
  t.equal(pythonJsonOfText('{"a": 1, "a": 2}'), '{"a": 2}')
  t.equal(pythonJsonOfText(' [ ] '), '[]')
  t.equal(pythonJsonOfText('"x"'), '"x"')
  t.same(pythonJsonFormsOfText('{"k": [1, {"b": null, "a": true}]}'), ['{"k": [1, {"a": true, "b": null}]}', '{"k":[1,{"a":true,"b":null}]}'])
  for (const bad of ['', '{', '{"a" 1}', '{"a": 1,}', '[1 2]', '01', 'nul', '{"a": 1} x', '"\u0001"', '{a: 1}', '[1,]']) {
    t.equal(pythonJsonOfText(bad), undefined, JSON.stringify(bad))
  }
  t.equal(pythonJsonOfText(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`)?.length, 2 * MAX_DEPTH, 'nesting up to the limit')
  t.equal(pythonJsonOfText(`${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`), undefined, 'deeper is refused')
})
