// Stand-in until the example shop lands: say so plainly instead of failing.
console.log(
  [
    'The girder example shop is not built yet.',
    'It will start here with `npm run shop` once it lands (users, catalog, inventory,',
    'orders and payment on embedded defaults). Meanwhile see README.md and docs/.',
  ].join('\n'),
);
