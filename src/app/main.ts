document.getElementById('out')!.textContent = 'loading';
