import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Pages written in parallel on other branches, linked to before they land here; this list goes once
 * they are merged.
 */
const pages = ['README.md', 'bench/README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens. */
function anchorsOf (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line)
    if (heading?.[1] === undefined) continue
    const slug = heading[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

/** Relative link targets of a page, outside code blocks and code spans. */
function linksOf (markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].flatMap((match) => match[1] === undefined ? [] : [match[1]])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
}

for (const page of pages) {
  test(`every relative link of ${page} resolves`, async (t) => {
    const text = readFileSync(join(root, page), 'utf8')
    for (const link of linksOf(text)) {
      const [path = '', anchor] = link.split('#')
      const target = path === '' ? page : relative(root, join(root, dirname(page), path))
      t.ok(existsSync(join(root, target)), `${link}: ${target} exists`)
      if (anchor !== undefined && target.endsWith('.md') && existsSync(join(root, target))) {
        t.ok(anchorsOf(readFileSync(join(root, target), 'utf8')).has(anchor), `${link}: #${anchor} is a heading of ${target}`)
      }
    }
  })
}
